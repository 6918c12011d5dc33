"""What ingress-nginx does to an Ingress of its class, for a control plane that runs no controller.

The controller publishes the address of its Service in each Ingress's `status.loadBalancer.ingress`
(ingress-nginx `--publish-service`); the kubernetes provider waits for that address before it calls an
Ingress ready (pulumi-kubernetes provider/pkg/await/ingress.go). `PublishedIngresses` does the same from a
thread, for every Ingress of `ingress_class` in the cluster.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.control_plane import ApiError, KubeClient
from harness.loops import controller_loop


@dataclass
class PublishedIngresses:
    client: KubeClient
    ingress_class: str = "nginx"
    address: str = "127.0.0.1"
    interval_s: float = 0.5
    published: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)

    @contextlib.contextmanager
    def running(self) -> Iterator[PublishedIngresses]:
        with controller_loop("ingress status publisher", self._step, self.interval_s, self.errors):
            yield self

    def _step(self) -> None:
        listed: dict[str, Any] = self.client.get("/apis/networking.k8s.io/v1/ingresses")
        for ingress in listed.get("items") or []:
            metadata = ingress["metadata"]
            if (ingress.get("spec") or {}).get("ingressClassName") != self.ingress_class:
                continue
            if ((ingress.get("status") or {}).get("loadBalancer") or {}).get("ingress"):
                continue
            path = (
                f"/apis/networking.k8s.io/v1/namespaces/{metadata['namespace']}/ingresses/{metadata['name']}"
            )
            try:
                self.client.merge_patch(
                    f"{path}/status", {"status": {"loadBalancer": {"ingress": [{"ip": self.address}]}}}
                )
            except ApiError as error:
                if error.status != 404:
                    raise
            self.published.add(f"{metadata['namespace']}/{metadata['name']}")
