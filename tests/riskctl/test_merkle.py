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


# Inclusion and consistency proofs for the same vectors (certificate-transparency
# merkle_tree_test / transparency-dev/merkle proof tests): (leaf index 0-based, tree size, path).
INCLUSION = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_reference_vectors(index: int, size: int, path: list[str]) -> None:
    """PATH(m, D[n]) equals the reference audit path and verifies against the reference root."""
    hashed = [merkle.leaf_hash(d) for d in LEAVES[:size]]
    proof = merkle.inclusion_proof(index, hashed)
    assert [p.hex() for p in proof] == path
    root = bytes.fromhex(ROOTS[size - 1])
    assert merkle.verify_inclusion(index, size, hashed[index], root, proof)
    assert not merkle.verify_inclusion(index, size, merkle.leaf_hash(b"x"), root, proof)


@pytest.mark.parametrize(("m", "n", "path"), CONSISTENCY)
def test_consistency_proofs_match_reference_vectors(m: int, n: int, path: list[str]) -> None:
    """PROOF(m, D[n]) equals the reference proof and verifies between the reference roots."""
    hashed = [merkle.leaf_hash(d) for d in LEAVES[:n]]
    proof = merkle.consistency_proof(m, hashed)
    assert [p.hex() for p in proof] == path
    old, new = bytes.fromhex(ROOTS[m - 1]), bytes.fromhex(ROOTS[n - 1])
    assert merkle.verify_consistency(m, n, old, new, proof)


@given(st.integers(1, 40), st.data())
def test_inclusion_proofs_verify_for_every_leaf(n: int, data: st.DataObject) -> None:
    """Every leaf's path verifies; the wrong index or a truncated path does not."""
    index = data.draw(st.integers(0, n - 1))
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]
    proof = merkle.inclusion_proof(index, leaves)
    root = merkle.root(leaves)
    assert merkle.verify_inclusion(index, n, leaves[index], root, proof)
    assert not merkle.verify_inclusion(n, n, leaves[index], root, proof)
    if proof:
        assert not merkle.verify_inclusion(index, n, leaves[index], root, proof[:-1])
