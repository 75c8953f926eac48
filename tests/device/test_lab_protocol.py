"""The endpoints' ProvisioningLab is a `harness.device.lab.Lab`; an object lacking a part is not."""

from __future__ import annotations

import types

from harness.device.lab import Lab
from harness.endpoints.lab import ProvisioningLab


def test_provisioning_lab_satisfies_the_drivers_lab_protocol(tmp_path) -> None:
    lab = ProvisioningLab(root=tmp_path)
    assert isinstance(lab, Lab)
    for name in ("http", "tftp", "dns", "syslog"):
        service = getattr(lab, name)
        assert isinstance(service.host, str) and isinstance(service.port, int)
        assert service.address == (service.host, service.port)
    assert callable(lab.recorder.clear)


def test_a_lab_without_a_way_to_put_a_file_is_not_one(tmp_path) -> None:
    lab = ProvisioningLab(root=tmp_path)
    parts = {n: getattr(lab, n) for n in ("http", "tftp", "dns", "syslog", "clock", "recorder")}
    partial = types.SimpleNamespace(
        **parts, server_ca=lab.server_ca, device_ca=lab.device_ca, observations=[]
    )
    partial.timelines = lambda: []
    assert not isinstance(partial, Lab)  # no put()
    partial.put = lambda name, data: tmp_path / name
    assert isinstance(partial, Lab)
