"""Names: valid names stay, changed or long names get a stable hash of the original."""

from __future__ import annotations

from ecs_operator.render.names import (
    NameAllocator,
    digest,
    dns_label,
    guessable_names,
    label_value,
    port_name,
    prefixed,
    secret_key,
)

from .helpers import DNS_LABEL, LABEL_VALUE, PORT_NAME


def test_valid_names_are_kept() -> None:
    assert dns_label("web-1") == "web-1"
    assert label_value("My_Family.v2") == "My_Family.v2"
    assert port_name("http") == "http"


def test_changed_names_carry_a_hash_of_the_original() -> None:
    assert dns_label("Web_App") == f"web-app-{digest('Web_App')}"
    assert dns_label("web_app") != dns_label("Web_App") != dns_label("web-app")


def test_container_names_are_guessable_and_hashed_only_on_collision_or_length() -> None:
    assert guessable_names(["log_router", "App", "_x_"]) == ["log-router", "app", "x"]
    assert guessable_names(["web", "Web"]) == ["web", dns_label("Web")]
    assert guessable_names(["a_b", "A_b"]) == [dns_label("a_b"), dns_label("A_b")]
    assert guessable_names(["c" * 64, "___"]) == [dns_label("c" * 64), dns_label("___")]


def test_long_names_are_shortened_stably() -> None:
    long = "a" * 255
    assert len(dns_label(long)) == 63 and DNS_LABEL.match(dns_label(long))
    assert dns_label(long) == dns_label(long)
    assert len(label_value("B_" * 100)) <= 63 and LABEL_VALUE.match(label_value("B_" * 100))


def test_label_values_trim_separators_at_the_ends() -> None:
    assert LABEL_VALUE.match(label_value("_hidden_"))


def test_port_names_fit_iana_rules() -> None:
    for raw in ("recommendation_http_endpoint", "8080", "metrics_", "a--b"):
        name = port_name(raw)
        assert len(name) <= 15 and PORT_NAME.match(name), (raw, name)


def test_prefixed_and_secret_keys() -> None:
    assert prefixed("sm", "db") == "sm-db"
    assert prefixed("sm", "prod/db").startswith("sm-prod-db-")
    assert secret_key("password") == "password"
    assert secret_key("my key!").startswith("my-key-")


def test_allocator_never_hands_out_a_name_twice() -> None:
    names = NameAllocator()
    first = names.claim("app", "app")
    second = names.claim("app", "other")
    assert first == "app" and second != "app" and DNS_LABEL.match(second)
