package sizedcache

import "testing"

func TestSizedCacheBoundsBytes(t *testing.T) {
	c := New[string](100, 10)
	c.Add("a", "a", 4)
	c.Add("b", "b", 4)
	c.Add("c", "c", 4) // 12 > 10: a goes
	if _, ok := c.Get("a"); ok {
		t.Error("a kept over the byte bound")
	}
	if n, b := c.Size(); n != 2 || b != 8 {
		t.Errorf("size = %d entries, %d bytes; want 2, 8", n, b)
	}
	c.Add("b", "b2", 6) // replacing counts the new size only: c 4 + b 6
	if n, b := c.Size(); n != 2 || b != 10 {
		t.Errorf("after replacing b: %d entries, %d bytes; want 2, 10", n, b)
	}
	c.Add("huge", "h", 11)
	if _, ok := c.Get("huge"); ok {
		t.Error("a value over the whole bound was kept")
	}
	if n, b := c.Size(); n != 2 || b != 10 {
		t.Errorf("a refused value changed the cache: %d entries, %d bytes", n, b)
	}
}

func TestOversizedValueDropsTheOlderOne(t *testing.T) {
	c := New[string](10, 10)
	c.Add("k", "old", 4)
	c.Add("k", "too big", 11)
	if v, ok := c.Get("k"); ok {
		t.Errorf("Get(k) = %q after an oversized Add, want nothing (the old value is stale)", v)
	}
	if n, b := c.Size(); n != 0 || b != 0 {
		t.Errorf("size = %d entries, %d bytes; want 0, 0", n, b)
	}
}
