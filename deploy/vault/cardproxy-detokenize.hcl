# cardproxy egress: detokenize only.
path "cardproxy-transit/decrypt/pan" { capabilities = ["update"] }
path "cardproxy-transit/export/encryption-key/cvc" { capabilities = ["read"] }
path "cardproxy/data/+/pan/*" { capabilities = ["read"] }
path "cardproxy/metadata/+/pan/*" { capabilities = ["delete"] }
path "cardproxy/metadata/+/idx/*" { capabilities = ["delete"] }
path "cardproxy/data/+/cvc/*" { capabilities = ["read", "update"] }
path "cardproxy/destroy/+/cvc/*" { capabilities = ["update"] }
path "cardproxy/metadata/+/cvc/*" { capabilities = ["delete"] }
path "sys/wrapping/unwrap" { capabilities = ["update"] }
# 3-D Secure POST redirects are stored by the egress for the ingress to serve,
# wrapped in a single-use response-wrapping token.
path "cardproxy/data/+/relay/*" { capabilities = ["create"] }
path "sys/wrapping/wrap" { capabilities = ["update"] }
# Renew and look up its own token (auth_method approle, kubernetes).
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
