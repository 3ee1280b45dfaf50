"""Ed25519 on MicroPython: RFC 8032 section 7.1 vectors (public key, exact signature,
verification), refusals of every kind of bad input (always False, never an exception),
cases around small-order points where the fast check must stay exact, and the scalar
splitting the fast check rests on."""
from mptest import eq

from meldbox.core import ed25519

L = 2**252 + 27742317777372353535851937790883648493

# RFC 8032 section 7.1: (name, secret key, public key, message, signature), hex.
VECTORS = [
    ("TEST 1",
     "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
     "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("TEST 2",
     "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
     "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("TEST 3",
     "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
     "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ("TEST 1024",
     "f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5",
     "278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e",
     "08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8"
     "79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc"
     "1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4feba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e"
     "06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec7"
     "aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2"
     "d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f270"
     "88d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b07"
     "07e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128bab27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51a"
     "ddd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb7"
     "51fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8"
     "ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08"
     "d78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e4"
     "88acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e"
     "6aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b5"
     "0d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d"
     "b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0",
     "0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03"),
    ("TEST SHA(abc)",
     "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
]


def _vector(name):
    for vector in VECTORS:
        if vector[0] == name:
            return [bytes.fromhex(v) for v in vector[1:]]
    raise KeyError(name)


def _check_public_key(name):
    seed, public, _, _ = _vector(name)
    eq(ed25519.public_key(seed), public, "public_key")
    eq(ed25519.SigningKey(seed).public, public, "SigningKey.public")


def _check_sign(name):
    seed, _, message, signature = _vector(name)
    eq(ed25519.SigningKey(seed).sign(message), signature)


def _check_verify(name):
    _, public, message, signature = _vector(name)
    eq(ed25519.verify(public, message, signature), True)


def cases():
    out = []
    for vector in VECTORS:
        name = vector[0]
        out.append(("%s public key" % name, lambda name=name: _check_public_key(name)))
        out.append(("%s signature" % name, lambda name=name: _check_sign(name)))
        out.append(("%s verifies" % name, lambda name=name: _check_verify(name)))
    return out


def _flip(data, bit):
    out = bytearray(data)
    out[bit >> 3] ^= 1 << (bit & 7)
    return bytes(out)


def test_flipped_bit_in_signature_fails():
    _, public, message, signature = _vector("TEST 3")
    for bit in (0, 7, 100, 254, 255, 256, 300, 400, 500, 511):
        eq(ed25519.verify(public, message, _flip(signature, bit)), False, "bit %d" % bit)


def test_flipped_bit_in_message_fails():
    _, public, message, signature = _vector("TEST 1024")
    for bit in (0, 1, 4000, 8183):
        eq(ed25519.verify(public, _flip(message, bit), signature), False, "bit %d" % bit)
    eq(ed25519.verify(public, message + b"\x00", signature), False, "longer")
    eq(ed25519.verify(public, message[:-1], signature), False, "shorter")


def test_flipped_bit_in_public_key_fails():
    _, public, message, signature = _vector("TEST 2")
    for bit in (0, 3, 128, 254, 255):
        eq(ed25519.verify(_flip(public, bit), message, signature), False, "bit %d" % bit)


def test_other_key_fails():
    _, public, _, _ = _vector("TEST 1")
    _, _, message, signature = _vector("TEST 2")
    eq(ed25519.verify(public, message, signature), False)


def test_non_canonical_s_rejected():
    # [S + L]B = [S]B, so only the range check (RFC 8032 5.1.7 step 1) refuses these.
    _, public, message, signature = _vector("TEST 1")
    s = int.from_bytes(signature[32:], "little")
    for bad in (s + L, s + 2 * L, L, 2**256 - 1):
        forged = signature[:32] + bad.to_bytes(32, "little")
        eq(ed25519.verify(public, message, forged), False, hex(bad))


def test_wrong_lengths_rejected():
    _, public, message, signature = _vector("TEST 1")
    for sig in (b"", signature[:63], signature + b"\x00", signature * 2):
        eq(ed25519.verify(public, message, sig), False, "signature of %d bytes" % len(sig))
    for key in (b"", public[:31], public + b"\x00"):
        eq(ed25519.verify(key, message, signature), False, "key of %d bytes" % len(key))


# Encodings that do not decode (RFC 8032 5.1.3): y = 2 has no x on the curve; y = p is
# not canonical; y = 1 gives x = 0, which cannot carry the sign bit.
BAD_POINTS = [
    "0200000000000000000000000000000000000000000000000000000000000000",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0100000000000000000000000000000000000000000000000000000000000080",
]


def test_public_key_that_does_not_decode_rejected():
    _, _, message, signature = _vector("TEST 1")
    for point in BAD_POINTS:
        eq(ed25519._decode(bytes.fromhex(point)), None, point)
        eq(ed25519.verify(bytes.fromhex(point), message, signature), False, point)


def test_r_that_does_not_decode_rejected():
    _, public, message, signature = _vector("TEST 1")
    for point in BAD_POINTS:
        eq(ed25519.verify(public, message, bytes.fromhex(point) + signature[32:]), False, point)


def test_neutral_point_in_disguise_rejected():
    # Non-canonical encodings of the neutral point O = (0, 1): y = p + 1, and x = 0 with
    # the sign bit. A decoder that let them through would accept these forgeries, since
    # with A = O any (R = [S]B, S) passes, and with R = O any S = k*a does.
    from meldbox.core import sha512
    disguises = [bytes.fromhex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
                 bytes.fromhex("0100000000000000000000000000000000000000000000000000000000000080")]
    s = 1234567
    for key in disguises:
        eq(ed25519.verify(key, b"any", ed25519._base_point(s) + s.to_bytes(32, "little")), False, "A")  # noqa: E501
    signer = ed25519.SigningKey(bytes(range(32)))
    for r in disguises:
        k = int.from_bytes(sha512.digest(r + signer.public + b"any"), "little") % L
        forged = r + (k * signer._a % L).to_bytes(32, "little")
        eq(ed25519.verify(signer.public, b"any", forged), False, "R")


def test_bytes_like_inputs_accepted():
    _, public, message, signature = _vector("TEST 1024")
    eq(ed25519.verify(bytearray(public), memoryview(message), memoryview(signature)), True)
    eq(ed25519.verify(memoryview(public), bytearray(message), bytearray(signature)), True)
    seed, _, message, signature = _vector("TEST 3")
    eq(ed25519.SigningKey(bytearray(seed)).sign(memoryview(message)), signature)


def test_garbage_never_raises():
    x = 12345
    for n in range(60):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        junk = bytes((x >> (i % 23)) & 255 for i in range(n + 40))
        for key, sig in ((junk[:32], junk[-64:]), (junk[:33], junk[:64]), (junk[5:37], junk[:n])):
            eq(ed25519.verify(key, junk, sig), False, "junk %d" % n)


# Points of small order, where a check that is only right for the prime-order subgroup
# goes wrong. Made on the host with a reference implementation; the expected verdicts
# are those of OpenSSL (through `cryptography`), which checks the same equation.
def test_r_with_small_order_component_rejected():
    # R = [r]B + T2 (T2 of order 2), S = r + k*a: the cofactored equation holds, the
    # RFC's [S]B = R + [k]A does not. An even multiplier c1 would hide T2.
    eq(ed25519.verify(
        bytes.fromhex("174553b456dddfc6908ecab1c101fe6ab21e2baa0617795b7d43a63482993fd5"),
        b"torsion on R",
        bytes.fromhex("7c2d8eb5c3a1b4ee9924b515ea3a88b454a5ed48d2c8e624110a74a7cce0afeb"
                      "eb6b9323efee9c86342e30e81afe72e87ac4219bbfeb543d241c3df7166ddb09")), False)


def test_key_with_small_order_component():
    # A = [a]B + T8 (T8 of order 8): [S]B = R + [k]A holds exactly when 8 divides k.
    key = bytes.fromhex("5475c5eea010e9719609132cb4bf4051ba0a804bd3458d33e8edc8b59f838a61")
    eq(ed25519.verify(key, b"torsion on A 2", bytes.fromhex(
        "c05e7274bbcc7bdf52a5f62c2303805d627a1381ebbe85d06ec3fd0fddf27526"
        "712349361f04ffb7be834ad80ba2bb141eee713cb06df5be5ec68993d9c6e50c")), True, "k = 0 mod 8")
    eq(ed25519.verify(key, b"torsion on A 0", bytes.fromhex(
        "7e8690103090c4e14085fbef22c9dc33649501283bf9e568bdb6a15234ceb321"
        "f930e6ed7fdd426f016fd904a3ca3c0bb310ad15e7445925106088a213917d09")), False, "k = 3 mod 8")


def _check_pair(k, bits):
    c0, c1 = ed25519._short_pair(k, bits)
    eq((c0 - c1 * k) % (8 * L), 0, "c0 = c1*k mod 8L for k=%d" % k)
    eq(c1 & 1, 1, "c1 odd")
    eq(0 < abs(c1) < L, True, "0 < |c1| < L")
    return c0, c1


def test_short_scalar_pairs():
    # The fast check rests on these: c0 = c1*k (mod 8L) with c1 odd below L is what
    # makes it exact; the sizes (about 2^128 each, or 2^64 and 2^192) make it fast.
    x = 1
    for bits in (128, 64):
        for k in (0, 1, 2, L - 1, 2**128 - 1, 2**128, 2**128 + 1, 2**192, 2**252):
            _check_pair(k, bits)
        for _ in range(200):
            x = (x * 6364136223846793005 + 1442695040888963407) % 2**256
            c0, c1 = _check_pair(x % L, bits)
            eq(abs(c1) >> (bits + 12), 0, "c1 short")
            eq(abs(c0) >> (268 - bits), 0, "c0 short")
        # A lattice whose short vector (8, 10) has c1 even: the odd pair is long, but exact.
        _check_pair((8 + 8 * L) // 10, bits)


def test_seed_of_wrong_length_refused():
    for seed in (b"", bytes(31), bytes(33)):
        try:
            ed25519.SigningKey(seed)
        except ValueError:
            continue
        raise AssertionError("seed of %d bytes accepted" % len(seed))


def test_signatures_are_deterministic_and_verify():
    key = ed25519.SigningKey(bytes(range(32)))
    for n in (0, 1, 63, 64, 127, 128, 200, 1000):
        message = bytes((i * 7 + n) & 255 for i in range(n))
        signature = key.sign(message)
        eq(key.sign(message), signature, "deterministic")
        eq(ed25519.verify(key.public, message, signature), True, "verifies, %d bytes" % n)
        eq(ed25519.verify(key.public, message + b"x", signature), False, "other message")


def test_key_cache_keeps_verdicts():
    # More keys than the cache holds, in turns, then one key many times (its first check
    # and the later ones, from the cache): each verdict must hold.
    keys = [ed25519.SigningKey(bytes([i]) * 32) for i in range(4)]
    signatures = [k.sign(b"notice") for k in keys]
    for _ in range(2):
        for i, k in enumerate(keys):
            eq(ed25519.verify(k.public, b"notice", signatures[i]), True, "own key %d" % i)
            eq(ed25519.verify(k.public, b"notice", signatures[(i + 1) % 4]), False, "other key %d" % i)  # noqa: E501
    for n in range(6):
        message = b"notice %d" % n
        signature = keys[0].sign(message)
        eq(ed25519.verify(keys[0].public, message, signature), True, "use %d" % n)
        eq(ed25519.verify(keys[0].public, message, _flip(signature, 300 + n)), False, "use %d, altered" % n)  # noqa: E501


def test_key_cache_holds_three_keys_without_remaking_their_tables():
    # Three issuers in turn: each key's table is made once and then served from the cache.
    keys = [ed25519.SigningKey(bytes([60 + i]) * 32) for i in range(3)]
    signatures = [k.sign(b"turns") for k in keys]
    for i, k in enumerate(keys):
        eq(ed25519.verify(k.public, b"turns", signatures[i]), True, "key %d" % i)
    tables = [id(entry[1][0]) for entry in ed25519._cache]
    eq(len(tables), 3)
    for _ in range(3):
        for i, k in enumerate(keys):
            eq(ed25519.verify(k.public, b"turns", signatures[i]), True, "again, key %d" % i)
    eq(sorted(id(entry[1][0]) for entry in ed25519._cache), sorted(tables), "same tables")
    eq([entry[0] for entry in ed25519._cache], [k.public for k in keys], "most recent last")


def test_key_cache_reuses_table_buffers():
    # Keys in rotation (more than the cache holds): once the cache has been full, no new
    # table buffer is allocated; the table of a key that left is rewritten for the next.
    keys = [ed25519.SigningKey(bytes([40 + i]) * 32) for i in range(5)]
    signatures = [k.sign(b"rotation") for k in keys]

    def buffers():
        return set(id(t) for entry in ed25519._cache for t in entry[1])

    for i, k in enumerate(keys):
        eq(ed25519.verify(k.public, b"rotation", signatures[i]), True, "key %d" % i)
    before = buffers()
    eq(len(before), 3, "one table for each of the 3 keys kept")
    for _ in range(2):
        for i, k in enumerate(keys):
            eq(ed25519.verify(k.public, b"rotation", signatures[i]), True, "again, key %d" % i)
            eq(ed25519.verify(k.public, b"rotation", signatures[i - 1]), False, "other, %d" % i)
    eq(buffers(), before, "no new buffers")


def test_message_in_parts():
    # verify() also takes the message as a tuple of parts (cose.py passes COSE's
    # Sig_structure around a payload that stays in the received buffer).
    _, public, message, signature = _vector("TEST 1024")
    eq(ed25519.verify(public, (message[:100], memoryview(message)[100:700], message[700:]), signature), True)  # noqa: E501
    eq(ed25519.verify(public, (message[:100], message[101:]), signature), False)
    eq(ed25519.verify(public, (), _vector("TEST 1")[3]), False)
    _, public, _, signature = _vector("TEST 1")
    eq(ed25519.verify(public, (), signature), True)


def test_affine_tables_match_projective():
    # The tables of odd multiples: affine entries (made 8 at a time with one inversion)
    # against the projective ones, divided by Z with pow() as the reference inversion;
    # sizes that fill no batch, one, and one and a half.
    P = 2**255 - 19
    x, y = ed25519._decode(bytes.fromhex("5866666666666666666666666666666666666666666666666666666666666666"))  # noqa: E501
    for n in (4, 8, 12):
        affine = ed25519._table(x, y, n)
        projective = ed25519._table(x, y, n, False)
        for i in range(n):
            zi = pow(projective[i][3] * pow(2, P - 2, P) % P, P - 2, P)
            for j in range(3):
                eq(int.from_bytes(affine[96 * i + 32 * j:96 * i + 32 * j + 32], "little"),
                   projective[i][j] * zi % P, "entry %d of %d, value %d" % (i, n, j))
