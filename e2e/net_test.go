package e2e

import "net"

var netListenConfig net.ListenConfig

type netTCPAddr = net.TCPAddr
