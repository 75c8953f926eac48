"""Thin asyncio I/O adapters of the simulated phone: HTTP(S), TFTP, DNS, syslog, TLS.

Each adapter turns one engine action (Fetch, Resolve, SendSyslog) into real
network I/O and returns the engine event it produced. No provisioning logic
here: what to fetch and what a result means is the engine's business.
"""
