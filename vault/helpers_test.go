package vault

import "github.com/hashicorp/vault/api"

var apiMountInputKV1 = api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}

type apiTokenCreate = api.TokenCreateRequest
