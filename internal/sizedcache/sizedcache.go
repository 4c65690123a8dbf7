// Package sizedcache is an LRU cache bounded both by its number of entries
// and by the bytes they hold, for caches whose entries vary in size.
package sizedcache

import (
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Cache is an LRU cache bounded both by its number of entries and by the
// sum of their sizes, as the caller estimates them. Safe for concurrent use.
type Cache[V any] struct {
	mu    sync.Mutex // guards lru and bytes
	lru   *simplelru.LRU[string, sized[V]]
	bytes int64
	max   int64
}

type sized[V any] struct {
	v    V
	size int64
}

// New returns a cache of at most n entries and maxBytes bytes.
func New[V any](n int, maxBytes int64) *Cache[V] {
	c := &Cache[V]{max: maxBytes}
	c.lru, _ = simplelru.NewLRU(max(n, 1), func(_ string, e sized[V]) { c.bytes -= e.size })
	return c
}

// Get returns the value of key and marks it recently used.
func (c *Cache[V]) Get(key string) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(key)
	return e.v, ok
}

// Add adds v, of the given size, evicting the least recently used entries
// until the cache is within its bounds again. A value larger than the
// whole bound is not kept (and any older value of key is dropped).
func (c *Cache[V]) Add(key string, v V, size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Remove(key)
	if size > c.max {
		return
	}
	c.lru.Add(key, sized[V]{v, size})
	c.bytes += size
	for c.bytes > c.max {
		c.lru.RemoveOldest()
	}
}

// Remove drops key.
func (c *Cache[V]) Remove(key string) {
	c.mu.Lock()
	c.lru.Remove(key)
	c.mu.Unlock()
}

// Size returns the number of entries and their total size.
func (c *Cache[V]) Size() (int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.bytes
}
