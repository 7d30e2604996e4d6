"""Trust (SPEC §6a): proven identities, signed statements, the pinned policy, and the checks that
make only verified facts count in a decision. Functions over explicit arguments; results are
frozen dataclasses."""
