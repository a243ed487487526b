package vault

import (
	"sync"

	"github.com/hashicorp/vault/api"
)

var apiMountInputKV1 = api.MountInput{Type: "kv", Options: map[string]string{"version": "1"}}

type apiTokenCreate = api.TokenCreateRequest

// atOnce runs f(0) … f(n-1) in n goroutines released together, and waits.
func atOnce(n int, f func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			f(i)
		}(i)
	}
	close(start)
	wg.Wait()
}
