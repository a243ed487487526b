module cardproxy.dev/tools/vaultbin

go 1.26

require (
	github.com/hashicorp/vault v1.21.0
	github.com/hashicorp/vault/sdk v0.20.0
)
