package vault

import (
	"context"
	"errors"
)

// Exactly-once writes. A write whose answer is lost — the connection broke
// after Vault committed it, and the client (or a failover to another node)
// sent it again — comes back as a check-and-set conflict. Such an outcome is
// never guessed: it is resolved by reading back what is stored and comparing
// it with what this request wrote.

// errTaken: the entry exists and holds what another request wrote.
var errTaken = errors.New("entry exists with other content")

// kvPut writes a KV v2 entry with check-and-set cas (0: create only). On a
// conflict it reads the entry back: when it holds what this write wrote (ours
// reports true on it), the write was committed and nil is returned;
// otherwise errTaken, with the entry and its version.
func (s *Store) kvPut(ctx context.Context, path string, data map[string]any, cas int, ours func(stored map[string]any) bool) (map[string]any, int, error) {
	err := s.kvWrite(ctx, path, data, cas)
	if err == nil {
		return nil, 0, nil
	}
	if !isCASConflict(err) {
		return nil, 0, err
	}
	stored, version, rerr := s.kvRead(ctx, path)
	if rerr != nil {
		return nil, 0, rerr
	}
	if stored != nil && ours(stored) {
		return nil, 0, nil // our own write, committed: its answer was lost
	}
	return stored, version, errTaken
}

// sameField reports whether stored[k] is what data[k] was written as.
func sameField(data map[string]any, k string) func(map[string]any) bool {
	return func(stored map[string]any) bool {
		want, _ := data[k].(string)
		return want != "" && str(stored, k) == want
	}
}
