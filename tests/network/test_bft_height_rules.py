"""The height rules of the Raft to SmartBFT migration and its rollback (no network: the predicates)."""

from __future__ import annotations

import pytest
from seocho_network.bft_migration import equal_heights, quorum_at_highest
from seocho_network.bft_rollback import ordered_since_switch
from seocho_network.channel import bft_quorum


@pytest.mark.parametrize(("orderers", "quorum"), [(4, 3), (5, 4), (6, 4), (7, 5), (10, 7)])
def test_the_bft_quorum_is_smartbfts_ceil_of_n_plus_f_plus_one_halves(orderers: int, quorum: int) -> None:
    assert bft_quorum(orderers) == quorum


def test_equal_heights_needs_every_orderer_answering_at_one_height() -> None:
    assert equal_heights({"a": 7, "b": 7, "c": 7})
    assert not equal_heights({"a": 7, "b": 8, "c": 7})
    assert not equal_heights({"a": 7, "b": None, "c": 7})


def test_a_quorum_at_the_highest_height_is_enough_on_bft() -> None:
    assert quorum_at_highest({"a": 8, "b": 8, "c": 8, "d": 7})
    assert quorum_at_highest({"a": 8, "b": 8, "c": 8, "d": None})
    assert not quorum_at_highest({"a": 8, "b": 8, "c": 7, "d": 7})
    assert not quorum_at_highest({"a": None, "b": None, "c": None, "d": None})


def test_the_rollback_sees_a_block_ordered_since_the_switch_only_above_its_recorded_height() -> None:
    # One orderer down is no evidence: the others are at the switch's height.
    assert not ordered_since_switch(9, {"a": 9, "b": 9, "c": None, "d": 9})
    assert not ordered_since_switch(9, {"a": 9, "b": 9, "c": 9, "d": 9})
    # Too few answer to see a block a quorum holds (4 orderers: quorum 3, so 2 must answer).
    assert ordered_since_switch(9, {"a": 9, "b": None, "c": None, "d": None})
    assert not ordered_since_switch(9, {"a": 9, "b": 9, "c": None, "d": None})
    # One answering orderer past it: SmartBFT ordered a block (maintenance off, at least).
    assert ordered_since_switch(9, {"a": 9, "b": 10, "c": None, "d": 9})
    # No record (a migration that wrote none): only every orderer at one height is proof enough.
    assert not ordered_since_switch(None, {"a": 9, "b": 9, "c": 9, "d": 9})
    assert ordered_since_switch(None, {"a": 9, "b": 9, "c": None, "d": 9})
    assert ordered_since_switch(None, {"a": 9, "b": 10, "c": 9, "d": 9})
