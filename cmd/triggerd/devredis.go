package main

import (
	"fmt"
	"net"
	"strconv"

	"github.com/alicebob/miniredis/v2"
)

// startDevRedis starts the in-process Redis-compatible server of `triggerd
// dev` on 127.0.0.1:port (0: a free port), so that the samples' cache.*
// actions, quotas and breakers work with nothing installed. miniredis keeps
// its data in memory: it is gone when dev stops, like a cache may be.
func startDevRedis(port int) (*miniredis.Miniredis, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr(net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err != nil {
		return nil, fmt.Errorf("start embedded Redis on port %d: %w", port, err)
	}
	return m, nil
}
