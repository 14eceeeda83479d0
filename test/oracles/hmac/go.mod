module vsots.local/hmacoracle

go 1.22
