"""Sans-I/O protocol codecs: one grammar per protocol, shared by every path.

Core layer. What lives here: message grammars, encode/decode, limits and the
incremental readers for TFTP (`tftp`), HTTP/1.x (`http`), syslog (`syslog`),
DNS (`dns`), DHCP (`dhcp`) and STUN (`stun`). The live endpoints, the pcap
analyzer, the simulated phone and netsim all read and write bytes through these
modules, so the live path and the capture path cannot read the same bytes two
ways. A reader that must accept what a strict peer would refuse (the analyzer
reading a capture) does it through a lenient mode of the same reader, with the
problems recorded, never through a second parser. TLS lives apart in
`harness.tls`.

What must not live here: sockets, files, the clock, threads or asyncio;
spec facts (what a Cisco phone must send: that is `harness.spec`); imports from
any other harness package (this is the bottom layer).
"""
