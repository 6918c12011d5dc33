"""Numbers as the real engine hands them to a dynamic provider: every one a protobuf double."""

from components.lambda_firewall import _rules, rule_problems


def test_firewall_port_ranges_that_arrive_as_doubles_are_whole_ports_again() -> None:
    wire = [
        {
            "protocol": "tcp",
            "port_range": [10250.0, 10250.0],
            "source_network": "203.0.113.10/32",
            "description": "k3s Kubelet metrics from the k3s server",
        }
    ]
    rules = _rules(wire)
    assert rules[0]["port_range"] == [10250, 10250]
    assert all(isinstance(port, int) for port in rules[0]["port_range"])
    assert rule_problems(rules) == []


def test_a_fractional_port_is_still_refused() -> None:
    wire = [
        {
            "protocol": "udp",
            "port_range": [51820.5, 51821.0],
            "source_network": "0.0.0.0/0",
            "description": "x",
        }
    ]
    assert rule_problems(_rules(wire)) == [
        "rules[0].port_range [51820.5, 51821] must be [min, max] within 1-65535"
    ]
