"""Issue 17 item 4: one sync as N mapped tasks, split by key hash so that no two tasks share a key."""

from __future__ import annotations

import subprocess
import sys

import pytest

from airflow_provider_hubspot.partitions import in_partition, partition_of, partition_records


def _rows(n: int) -> list[dict[str, str]]:
    return [{"email": f"contact{i}@example.com", "firstname": f"F{i}"} for i in range(n)]


def test_every_record_is_in_exactly_one_partition_and_they_are_balanced():
    rows = _rows(8000)
    parts = [list(partition_records(rows, partitions=8, partition_index=i)) for i in range(8)]
    assert sorted(r["email"] for p in parts for r in p) == sorted(r["email"] for r in rows)
    keys = [{r["email"] for r in p} for p in parts]
    assert all(not (keys[i] & keys[j]) for i in range(8) for j in range(i + 1, 8)), "no key in two tasks"
    assert all(800 <= len(p) <= 1200 for p in parts), [len(p) for p in parts]


def test_one_contact_in_any_spelling_lands_in_one_task():
    spellings = ["Ada@Example.com", "ada@example.com", " ADA@EXAMPLE.COM "]
    assert len({partition_of(s, 8) for s in spellings}) == 1
    assert in_partition({"email": "ada@example.com"}, partitions=8, partition_index=partition_of("ADA@example.com", 8))


def test_the_split_is_the_same_in_another_process():
    # hash() is salted per process; workers on other machines must agree
    code = "from airflow_provider_hubspot.partitions import partition_of; print([partition_of(f'k{i}', 7) for i in range(50)])"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert other == str([partition_of(f"k{i}", 7) for i in range(50)])


def test_records_with_a_data_dict_and_other_keys():
    from airflow_provider_hubspot.client import Record

    records = [Record(i, {"vid": str(i)}) for i in range(100)]
    picked = [r for i in range(4) for r in partition_records(records, key="vid", partitions=4, partition_index=i)]
    assert sorted(r.index for r in picked) == list(range(100))


@pytest.mark.parametrize("partitions,index", [(0, 0), (4, 4), (4, -1), ("4", 0)])
def test_bad_partition_arguments_are_refused(partitions, index):
    with pytest.raises(ValueError):
        list(partition_records([], partitions=partitions, partition_index=index))
