# cardproxy ingress: tokenize only.
path "cardproxy-transit/encrypt/pan" { capabilities = ["update"] }
path "cardproxy-transit/hmac/pan-index/*" { capabilities = ["update"] }
path "cardproxy-transit/hmac/pan-index" { capabilities = ["update"] }
# CVCs (and, with index_hmac_in_process, the dedupe HMAC) are sealed in
# process with keys exported from Transit (docs/security.md).
path "cardproxy-transit/export/encryption-key/cvc" { capabilities = ["read"] }
path "cardproxy/data/+/pan/*" { capabilities = ["create", "update"] }
path "cardproxy/metadata/+/pan/*" { capabilities = ["delete"] }
path "cardproxy/data/+/idx/*" { capabilities = ["create", "read", "update"] }
path "cardproxy/data/+/cvc/*" { capabilities = ["create"] }
path "sys/wrapping/wrap" { capabilities = ["update"] }
# 3-D Secure relay pages are served (once) by the ingress: the stored entry holds
# a wrapping token, the relay itself is unwrapped (HEAD only looks it up).
path "cardproxy/data/+/relay/*" { capabilities = ["read"] }
path "cardproxy/metadata/+/relay/*" { capabilities = ["delete"] }
path "sys/wrapping/unwrap" { capabilities = ["update"] }
path "sys/wrapping/lookup" { capabilities = ["update"] }
# Renew and look up its own token (auth_method approle, kubernetes).
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
