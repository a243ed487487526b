module github.com/hashicorp/go-gcp-common

go 1.22

require golang.org/x/oauth2 v0.30.0
