"""Replica locations are checked in one place: what ``parse_location`` keeps is what a ``Replica`` accepts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from circle.errors import UsageError
from circle.sync import litestream as ls
from circle.sync.location import FIELDS, parse_location

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE8="


def replica_of(loc: dict) -> ls.Replica:
    return ls.Replica(**{k: v for k, v in loc.items() if k in ls.Replica.__dataclass_fields__})


@pytest.mark.parametrize(
    ("url", "options", "says"),
    [
        ("", {}, "no replica location"),
        ("sftp://192.0.2.10/srv/circle", {"host_key": HOST_KEY, "key_path": "/k"}, "needs a user and host"),
        ("sftp://circle@192.0.2.10/srv/circle", {"key_path": "/k"}, "host key"),
        ("sftp://circle@192.0.2.10/srv/circle", {"host_key": "not a key", "key_path": "/k"}, "host key"),
        ("sftp://circle@192.0.2.10/srv/circle", {"host_key": HOST_KEY}, "key or password"),
        ("sftp://circle@192.0.2.10/", {"host_key": HOST_KEY, "key_path": "/k"}, "absolute folder"),
        ("sftp://circle@192.0.2.10:port/srv", {"host_key": HOST_KEY, "key_path": "/k"}, "invalid port"),
        ("s3:///north", {}, "needs a bucket"),
        ("s3://b/north", {"endpoint": "ftp://192.0.2.5"}, "http:// or https://"),
        ("s3://b/north?region=x", {}, "? or #"),
        ("ftp://192.0.2.5/x", {}, "unknown replica kind"),
    ],
)
def test_a_location_that_cannot_work_is_refused_with_what_to_give(url: str, options: dict, says: str):
    with pytest.raises(UsageError) as exc:
        parse_location(url, **options)
    assert says in exc.value.line()
    if url:  # the very same check, whichever door a location comes in by
        with pytest.raises(UsageError) as direct:
            ls.Replica(url, **options)
        assert direct.value.line() == exc.value.line()


def test_what_the_keystore_keeps(tmp_path: Path):
    assert parse_location(f"file://{tmp_path}/a/../b") == {"url": str(tmp_path / "b")}
    assert parse_location("s3://b/north", endpoint="http://192.0.2.5:8333") == {
        "url": "s3://b/north",
        "endpoint": "http://192.0.2.5:8333",
        "force_path_style": True,
    }
    virtual = parse_location("s3://b/north", endpoint="https://s3.example.org", force_path_style=False)
    assert virtual["force_path_style"] is False and replica_of(virtual).config()["force-path-style"] is False
    assert parse_location("s3://b/north", endpoint="s3.example.org")["endpoint"] == "s3.example.org"  # Litestream reads it as https
    # A password written into the URL goes to its own field: never shown with the URL.
    loc = parse_location("sftp://circle:pa%24%24word@192.0.2.10:2222/srv/x", host_key=HOST_KEY)
    assert loc == {"url": "sftp://circle@192.0.2.10:2222/srv/x", "host_key": HOST_KEY, "password": "pa$$word"}
    assert "unused" not in parse_location("s3://b/n", unused="x", access_key_id="")  # only known fields, no empty ones


_label = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)
_path = st.lists(st.from_regex(r"[A-Za-z0-9._-]{1,8}", fullmatch=True).filter(lambda p: p not in (".", "..")), min_size=1, max_size=3).map("/".join)
_sftp = st.builds(
    lambda user, host, port, path, key: (f"sftp://{user}@{host}{f':{port}' if port else ''}/{path}", {"host_key": HOST_KEY, "key_path": key}),
    _label,
    _label,
    st.one_of(st.none(), st.integers(1, 65535)),
    _path,
    st.sampled_from(["/k", "~/.ssh/id_ed25519"]),
)
_s3 = st.builds(
    lambda bucket, path, endpoint, style: (
        f"s3://{bucket}/{path}",
        {"endpoint": endpoint, "force_path_style": style, "access_key_id": "ak", "secret_access_key": "sk"},
    ),
    _label,
    _path,
    st.one_of(st.none(), st.sampled_from(["http://192.0.2.5:8333", "https://s3.example.org", "s3.example.org:9000"])),
    st.one_of(st.none(), st.booleans()),
)


@given(st.one_of(_sftp, _s3))
def test_a_kept_location_is_usable_and_keeps_as_it_is(case):
    url, options = case
    loc = parse_location(url, **options)
    assert set(loc) <= set(FIELDS)
    replica_of(loc).config()  # usable as it is kept
    again = parse_location(loc["url"], **{k: v for k, v in loc.items() if k != "url"})
    assert again == loc
