#!/usr/bin/env bash
# Regenerates the test PKI in this directory with openssl 3.0. Run from anywhere:
#   bash packages/x509/testdata/make_pki.sh
# Good certificates are valid for 20 years from the day this runs; tests pin `now` where
# validity matters. Keys (root, intermediate, leaf, client, EC leaves, self-signed) are
# unencrypted PKCS#8 and exist only for tests.
set -euo pipefail
cd "$(dirname "$0")"
rm -f ./*.pem ./*.key
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
days=7300

cat > "$work/ext.cnf" <<'CNF'
[root]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[intermediate]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[rekeyed]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = none
authorityKeyIdentifier = none

[not_ca]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[name_constrained]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
nameConstraints = critical, permitted;DNS:example.com, permitted;IP:10.0.0.0/255.0.0.0, excluded;DNS:bad.example.com
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[server]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[server_ec]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[client]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = email:device@anchortls.test, URI:urn:anchortls:device:0001
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[wrong_host]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:example.com, DNS:*.example.com
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[wrong_ku]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
authorityKeyIdentifier = keyid:always

[wrong_eku]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectAltName = DNS:localhost
authorityKeyIdentifier = keyid:always

[critical_ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
1.3.6.1.4.1.55555.1 = critical, ASN1:UTF8String:must understand
authorityKeyIdentifier = keyid:always

[server_kx_only]
basicConstraints = CA:FALSE
keyUsage = critical, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
authorityKeyIdentifier = keyid:always

[server_ec_ka_only]
basicConstraints = CA:FALSE
keyUsage = critical, keyAgreement
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
authorityKeyIdentifier = keyid:always

[nc_ok]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.example.com, IP:10.1.2.3
authorityKeyIdentifier = keyid:always

[nc_excluded]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:bad.example.com
authorityKeyIdentifier = keyid:always
CNF

rsa() { openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:${2:-2048}" -out "$work/$1.key" 2>/dev/null; }
ec() { openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$2" -out "$work/$1.key"; }
csr() { openssl req -new -key "$work/$1.key" -subj "$2" -out "$work/$1.csr"; }
# sign NAME ISSUER SECTION [extra openssl x509 args...]
sign() {
  local name=$1 issuer=$2 section=$3
  shift 3
  openssl x509 -req -in "$work/$name.csr" -CA "$issuer.pem" -CAkey "$work/$issuer.key" \
    -set_serial "0x$(openssl rand -hex 12)" -days "$days" -sha256 \
    -extfile "$work/ext.cnf" -extensions "$section" -out "$name.pem" "$@" 2>/dev/null
}
keep_key() { cp "$work/$1.key" "$1.key"; }
O="/O=anchortls test"

# Trust anchor, intermediate (pathlen 0), server leaf, client.
rsa root
openssl req -x509 -new -key "$work/root.key" -subj "$O/CN=anchortls test root" -days "$days" \
  -sha256 -set_serial "0x$(openssl rand -hex 12)" -extensions root \
  -config <(printf '[req]\ndistinguished_name = dn\n[dn]\n'; cat "$work/ext.cnf") -out root.pem
rsa intermediate; csr intermediate "$O/CN=anchortls test intermediate"
sign intermediate root intermediate
rsa leaf; csr leaf "$O/CN=localhost"; sign leaf intermediate server; keep_key leaf
rsa client; csr client "$O/CN=anchortls test client"; sign client intermediate client
keep_key client
cat leaf.pem intermediate.pem > chain.pem
keep_key root
keep_key intermediate

# Good variants: an ECDSA chain (P-384 CA, P-256 leaf) and an RSA-PSS-signed leaf.
ec ec-intermediate secp384r1; csr ec-intermediate "$O/CN=anchortls test EC intermediate"
sign ec-intermediate root ca
ec ec-chain-leaf prime256v1; csr ec-chain-leaf "$O/CN=localhost"
openssl x509 -req -in "$work/ec-chain-leaf.csr" -CA ec-intermediate.pem \
  -CAkey "$work/ec-intermediate.key" -set_serial "0x$(openssl rand -hex 12)" -days "$days" \
  -sha384 -extfile "$work/ext.cnf" -extensions server_ec -out ec-chain-leaf.pem 2>/dev/null
keep_key ec-chain-leaf
rsa pss-leaf; csr pss-leaf "$O/CN=localhost"
sign pss-leaf intermediate server -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
  -sigopt rsa_mgf1_md:sha256

# Failure cases, one defect each.
rsa intermediate-rekeyed; csr intermediate-rekeyed "$O/CN=anchortls test intermediate"
sign intermediate-rekeyed root rekeyed
rsa wrong-host; csr wrong-host "$O/CN=localhost"; sign wrong-host intermediate wrong_host
rsa wrong-ku; csr wrong-ku "$O/CN=localhost"; sign wrong-ku intermediate wrong_ku
rsa wrong-eku; csr wrong-eku "$O/CN=localhost"; sign wrong-eku intermediate wrong_eku
rsa self-signed
openssl req -x509 -new -key "$work/self-signed.key" -subj "$O/CN=localhost" -days "$days" \
  -sha256 -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -addext "extendedKeyUsage=serverAuth" -out self-signed.pem
keep_key self-signed
rsa other-root
openssl req -x509 -new -key "$work/other-root.key" -subj "$O/CN=untrusted root" -days "$days" \
  -sha256 -out other-root.pem
rsa other-leaf; csr other-leaf "$O/CN=localhost"; sign other-leaf other-root server
rsa not-ca-intermediate; csr not-ca-intermediate "$O/CN=not a CA"
sign not-ca-intermediate root not_ca
rsa not-ca-leaf; csr not-ca-leaf "$O/CN=localhost"; sign not-ca-leaf not-ca-intermediate server
rsa sub-intermediate; csr sub-intermediate "$O/CN=anchortls test sub-intermediate"
sign sub-intermediate intermediate ca
rsa pathlen-leaf; csr pathlen-leaf "$O/CN=localhost"; sign pathlen-leaf sub-intermediate server
rsa critical-ext; csr critical-ext "$O/CN=localhost"; sign critical-ext intermediate critical_ext
rsa nc-intermediate; csr nc-intermediate "$O/CN=example.com constrained CA"
sign nc-intermediate root name_constrained
rsa nc-leaf; csr nc-leaf "$O/CN=localhost"; sign nc-leaf nc-intermediate server
rsa nc-ok-leaf; csr nc-ok-leaf "$O/CN=www.example.com"; sign nc-ok-leaf nc-intermediate nc_ok
rsa nc-excluded-leaf; csr nc-excluded-leaf "$O/CN=bad.example.com"
sign nc-excluded-leaf nc-intermediate nc_excluded
rsa sha1; csr sha1 "$O/CN=localhost"; sign sha1 intermediate server -sha1
rsa rsa1024 1024; csr rsa1024 "$O/CN=localhost"; sign rsa1024 intermediate server
ec ec-leaf prime256v1; csr ec-leaf "$O/CN=localhost"; sign ec-leaf intermediate server_ec
keep_key ec-leaf
cat ec-leaf.pem intermediate.pem > ec-chain.pem
# ECDSA client certificates (P-256 and P-384) for ECDHE_ECDSA client authentication.
ec ec-client prime256v1; csr ec-client "$O/CN=anchortls test EC client"
sign ec-client intermediate client; keep_key ec-client
ec ec-client-p384 secp384r1; csr ec-client-p384 "$O/CN=anchortls test EC client"
sign ec-client-p384 intermediate client; keep_key ec-client-p384
# The server leaves' keys under a key usage that fits only one kind of key exchange:
# keyEncipherment only (RSA key transport, not ECDHE_RSA), keyAgreement only (not ECDHE_ECDSA).
csr leaf "$O/CN=localhost"; sign leaf intermediate server_kx_only -out kx-only-leaf.pem
csr ec-leaf "$O/CN=localhost"; sign ec-leaf intermediate server_ec_ka_only -out ec-ka-only-leaf.pem
openssl genpkey -algorithm ED25519 -out "$work/ed25519-leaf.key"
csr ed25519-leaf "$O/CN=localhost"; sign ed25519-leaf intermediate server_ec

# A leaf whose signature has its last byte flipped.
rsa bad-signature; csr bad-signature "$O/CN=localhost"
sign bad-signature intermediate server -outform DER -out "$work/bad-signature.der"
rm -f bad-signature.pem
hex=$(xxd -p "$work/bad-signature.der" | tr -d '\n')
last=$((16#${hex: -2} ^ 0x01))
printf '%s%02x' "${hex:0:${#hex}-2}" "$last" | xxd -r -p > "$work/bad-signature.flipped"
openssl x509 -inform DER -in "$work/bad-signature.flipped" -out bad-signature.pem

# Expired and not yet valid: `openssl ca` with a throwaway database sets exact dates.
mkdir -p "$work/ca"
touch "$work/ca/index.txt"
cat > "$work/ca.cnf" <<CNF
[ca]
default_ca = throwaway
[throwaway]
database = $work/ca/index.txt
new_certs_dir = $work/ca
serial = $work/ca/serial
certificate = intermediate.pem
private_key = $work/intermediate.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
organizationName = optional
CNF
dated() {
  rsa "$1"; csr "$1" "$O/CN=localhost"
  openssl ca -batch -notext -config "$work/ca.cnf" -extfile "$work/ext.cnf" -extensions server \
    -rand_serial -startdate "$2" -enddate "$3" -in "$work/$1.csr" -out "$1.pem"
}
dated expired 20200101000000Z 20210101000000Z
dated not-yet-valid 20600101000000Z 20610101000000Z
echo "test PKI written to $(pwd)"
