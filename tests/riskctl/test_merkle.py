"""RFC 6962 hashing and consistency proofs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskctl.audit import merkle

# Inputs and roots from the Certificate Transparency reference test vectors
# (google/certificate-transparency, merkle tree tests; also used by transparency-dev/merkle).
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def test_roots_match_reference_vectors() -> None:
    """Leaf H(0x00||d), node H(0x01||l||r): roots of the CT test vectors for sizes 1..8."""
    hashed = [merkle.leaf_hash(d) for d in LEAVES]
    for size, expected in enumerate(ROOTS, start=1):
        assert merkle.root(hashed[:size]).hex() == expected


def test_empty_tree_hashes_the_empty_string() -> None:
    """MTH({}) = SHA-256('') (RFC 6962 §2.1)."""
    assert merkle.root([]).hex().startswith("e3b0c442")


@given(st.integers(1, 40), st.data())
def test_consistency_proofs_verify(n: int, data: st.DataObject) -> None:
    """PROOF(m, D[n]) verifies against the two true roots and fails against a wrong old root."""
    m = data.draw(st.integers(1, n))
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    proof = merkle.consistency_proof(m, leaves)
    old, new = merkle.root(leaves[:m]), merkle.root(leaves)
    assert merkle.verify_consistency(m, n, old, new, proof)
    if m < n:
        assert not merkle.verify_consistency(m, n, merkle.leaf_hash(b"x"), new, proof)
        assert not merkle.verify_consistency(m, n, old, new, [])


def test_consistency_rejects_bad_sizes() -> None:
    """Sizes outside 0 < m <= n are rejected."""
    leaves = [merkle.leaf_hash(b"a")]
    assert not merkle.verify_consistency(0, 1, b"", b"", [])
    assert merkle.verify_consistency(1, 1, leaves[0], leaves[0], [])
    with pytest.raises(ValueError, match="0 < m <= n"):
        merkle.consistency_proof(2, leaves)
