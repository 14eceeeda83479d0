// Entry point of the vso CLI; subcommands are wired in as they land.
console.log("vso-ts");
