"""C2SP signed-note, checkpoint and cosignature formats against published vectors, and strict
decoding of every base64 value."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from riskctl.audit import note
from riskctl.audit.note import NoteError, Verifier
from riskctl.signing import KeyPair, b64decode_strict, dsse_sign, dsse_verify, key_id

# golang.org/x/mod/sumdb/note, note_test.go (the package's documented example).
GO_SKEY_B64 = "AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"  # 0x01 ‖ Ed25519 seed
GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG = (
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
# c2sp.org/signed-note, the specification's example.
SPEC_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
SPEC_NOTE = (
    "This is an example message.\n\n\u2014 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
# transparency-dev/formats note_cosigv1_test.go: a cosignature (type 0x04) verifier key.
COSIG_VKEY = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"


def _go_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(GO_SKEY_B64)[1:])


def test_signing_reproduces_the_go_vector_byte_for_byte() -> None:
    """Ed25519 is deterministic: our signed note equals the published one exactly."""
    assert note.sign_note(GO_TEXT, "PeterNeumann", _go_key()) == GO_TEXT + "\n" + GO_SIG
    assert note.verifier_for("PeterNeumann", note.ALG_ED25519, _go_key()).vkey == GO_VKEY


def test_published_notes_verify_and_edits_do_not() -> None:
    """The spec's and Go's notes verify under their keys; one changed letter does not."""
    assert note.verify_note(SPEC_NOTE, Verifier.parse(SPEC_VKEY)) == "This is an example message.\n"
    go = GO_TEXT + "\n" + GO_SIG
    assert note.verify_note(go, Verifier.parse(GO_VKEY)) == GO_TEXT
    with pytest.raises(NoteError, match="does not verify"):
        note.verify_note(go.replace("cryptography", "cryptographY"), Verifier.parse(GO_VKEY))
    with pytest.raises(NoteError, match="no signature by"):
        note.verify_note(SPEC_NOTE, Verifier.parse(GO_VKEY))


def test_cosignature_key_id_uses_type_0x04() -> None:
    """A published cosignature verifier key parses: its key id is over NAME ‖ 0x0A ‖ 0x04 ‖ key."""
    verifier = Verifier.parse(COSIG_VKEY)
    assert verifier.alg == note.ALG_COSIGNATURE_V1
    assert verifier.vkey == COSIG_VKEY
    with pytest.raises(NoteError, match="key id does not match"):
        Verifier.parse(COSIG_VKEY.replace("da77ade7", "da77ade8"))


def test_vkey_whose_base64_contains_plus_round_trips() -> None:
    """Key material may contain '+': only the first two '+' separate the fields."""
    for seed in range(256):
        key = Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
        vkey = note.verifier_for("k", note.ALG_ED25519, key).vkey
        if "+" in vkey.split("+", 2)[2]:
            assert Verifier.parse(vkey).vkey == vkey
            return
    pytest.fail("no key with '+' in its base64 among 256 seeds")  # pragma: no cover


def test_cosignature_layout_and_verification() -> None:
    """A cosignature signs 'cosignature/v1\\ntime T\\n' ‖ checkpoint; a different checkpoint or
    another witness's key does not verify."""
    witness = Ed25519PrivateKey.generate()
    text = note.checkpoint_text("o.example/log", 7, bytes(32), ("ext",))
    cosig = note.cosign(text, "w1", witness, 1_700_000_000)
    blob = b64decode_strict(cosig.line.split(" ")[2].strip())
    assert blob[4:12] == (1_700_000_000).to_bytes(8, "big")
    witness.public_key().verify(blob[12:], b"cosignature/v1\ntime 1700000000\n" + text.encode())
    verifier = note.verifier_for("w1", note.ALG_COSIGNATURE_V1, witness)
    assert note.parse_cosignature(cosig.line, text, verifier).timestamp == 1_700_000_000
    with pytest.raises(NoteError):
        note.parse_cosignature(cosig.line, text.replace("\n7\n", "\n8\n"), verifier)
    other = note.verifier_for("w1", note.ALG_COSIGNATURE_V1, Ed25519PrivateKey.generate())
    with pytest.raises(NoteError):
        note.parse_cosignature(cosig.line, text, other)


@pytest.mark.parametrize(
    "body",
    [
        "o\n07\n" + base64.b64encode(bytes(32)).decode() + "\n",  # leading zero
        "o\n7\n",  # too few lines
        "o\n7\nAAAA\n",  # root not 32 bytes
        "o\n7\n" + base64.b64encode(bytes(32)).decode() + "\n\next\n",  # empty line
        "o\n7\n" + base64.b64encode(bytes(32)).decode(),  # no final newline
    ],
)
def test_malformed_checkpoints_are_refused(body: str) -> None:
    """Checkpoint text is parsed strictly."""
    with pytest.raises(NoteError):
        note.parse_checkpoint(body)


def test_non_canonical_base64_is_invalid() -> None:
    """'AB==' decodes to the same byte as 'AA==' under lenient decoders: refused here, as are
    missing padding and characters outside the alphabet."""
    assert b64decode_strict("AA==") == b"\x00"
    for text in ("AB==", "AA", "A A=", "AA==\n", "-_==", "AAA=A"):
        with pytest.raises(ValueError, match="base64"):
            b64decode_strict(text)


def test_non_canonical_signature_in_a_note_is_refused() -> None:
    """A note whose signature is spelled with non-zero padding bits does not verify."""
    blob = GO_SIG.split(" ")[2].strip()
    assert blob.endswith("M=")
    bent = GO_SIG.replace(blob, blob[:-2] + "N=")  # same bytes for a lenient decoder
    assert base64.b64decode(blob[:-2] + "N=") == base64.b64decode(blob)
    with pytest.raises(NoteError, match="base64"):
        note.verify_note(GO_TEXT + "\n" + bent, Verifier.parse(GO_VKEY))


def test_dsse_envelope_with_non_canonical_signature_is_refused() -> None:
    """A DSSE envelope (provenance) whose signature is re-spelled non-canonically is refused."""
    private = Ed25519PrivateKey.generate()
    pair = KeyPair(private, key_id(private.public_key()))
    envelope = json.loads(dsse_sign(b'{"a": 1}', pair))
    assert dsse_verify(json.dumps(envelope).encode(), private.public_key()) == {"a": 1}
    sig = envelope["signatures"][0]["sig"]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    stem = sig.rstrip("=")
    envelope["signatures"][0]["sig"] = (
        stem[:-1] + alphabet[alphabet.index(stem[-1]) | 1] + sig[len(stem) :]
    )
    assert envelope["signatures"][0]["sig"] != sig
    with pytest.raises(ValueError, match="no valid signature"):
        dsse_verify(json.dumps(envelope).encode(), private.public_key())
