// Certificates and keys for the local control plane: a CA, the API server's
// serving certificate, an admin client certificate (O=system:masters) and the
// service-account token signing key pair. Node's crypto can make keys but not
// X.509 certificates, so @peculiar/x509 builds them.
import { webcrypto } from "node:crypto";
import "reflect-metadata"; // @peculiar/x509 needs the Reflect metadata polyfill loaded first
import * as x509 from "@peculiar/x509";
import { KUBERNETES_SERVICE_IP, NODE_IP } from "./node/netns.ts";

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export interface PemPair {
  cert: string;
  key: string;
}

export interface ControlPlanePki {
  ca: PemPair;
  serving: PemPair;
  admin: PemPair;
  serviceAccount: { publicKey: string; privateKey: string };
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
}

async function privatePem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

async function publicPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey("spki", key);
  return x509.PemConverter.encode(der, "PUBLIC KEY");
}

function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] &= 0x7f; // keep it positive
  return Buffer.from(bytes).toString("hex");
}

function validity(days: number): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(Date.now() - 60_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * 86_400_000) };
}

async function leaf(
  ca: { cert: x509.X509Certificate; keys: CryptoKeyPair },
  subject: string,
  usage: "server" | "client",
  sans: x509.JsonGeneralName[] = [],
): Promise<PemPair> {
  const keys = await keyPair();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension(
      [usage === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
      false,
    ),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
  ];
  if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, false));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.cert.subject,
    ...validity(365),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions,
  });
  return { cert: cert.toString("pem"), key: await privatePem(keys.privateKey) };
}

export async function generateControlPlanePki(): Promise<ControlPlanePki> {
  const caKeys = await keyPair();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: "CN=vso-ts playground CA",
    ...validity(3650),
    signingAlgorithm: ALG,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const ca = { cert: caCert, keys: caKeys };
  const serving = await leaf(ca, "CN=kube-apiserver", "server", [
    { type: "ip", value: "127.0.0.1" },
    // The local node's address and the first service IP (the `kubernetes` Service):
    // in-cluster clients dial 10.0.0.1 and verify the certificate against it.
    { type: "ip", value: NODE_IP },
    { type: "ip", value: KUBERNETES_SERVICE_IP },
    { type: "dns", value: "localhost" },
    { type: "dns", value: "kubernetes" },
    { type: "dns", value: "kubernetes.default" },
    { type: "dns", value: "kubernetes.default.svc" },
    { type: "dns", value: "kubernetes.default.svc.cluster.local" },
  ]);
  const admin = await leaf(ca, "CN=vso-ts-admin, O=system:masters", "client");
  const saKeys = await keyPair();
  return {
    ca: { cert: caCert.toString("pem"), key: await privatePem(caKeys.privateKey) },
    serving,
    admin,
    serviceAccount: {
      publicKey: await publicPem(saKeys.publicKey),
      privateKey: await privatePem(saKeys.privateKey),
    },
  };
}
