# heapsize: 64K
# firmware: rom
"""Ed25519 verification within a 64K MicroPython heap, the issue's target for a device
that checks notices: RFC 8032 TEST 1024, and a 1 KiB message signed by `cryptography`
on the host, in a fresh interpreter whose heap is bounded.

The firmware comes from the simulator's ROMFS image ("# firmware: rom"), as on the
board, where its bytecode is in flash: compiling ed25519 from source would measure the
unix port's parser, not the device. The 1023-byte message of TEST 1024 sits in comments
that the test reads back, and the messages' buffers are taken early.
"""
import gc

gc.collect()
from meldbox.core import ed25519  # noqa: E402, I001

from mptest import eq  # noqa: E402

# The two messages' buffers, taken while the heap is still in few pieces: later, a
# 1 KiB block can be hard to find in a 64K heap, for a test as for the device.
TEST_1024 = bytearray(1023)
ONE_KIB = bytearray(1024)

# RFC 8032 section 7.1, TEST 1024:
#| key 278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e
#| sig 0aab4c900501b3e24d7cdf4663326a3a87df5e4843b2cbdb67cbf6e460fec350
#| sig aa5371b1508f9f4528ecea23c436d94b5e8fcd4f681e30a6ac00a9704a188a03
#| msg 08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98fa6e264bf09efe12
#| msg ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d879de7c0046dc4996d9e773f4bc9efe57
#| msg 38829adb26c81b37c93a1b270b20329d658675fc6ea534e0810a4432826bf58c941efb65d57a338b
#| msg bd2e26640f89ffbc1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe
#| msg ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e06203b33890cc9b8
#| msg 32f79ef80560ccb9a39ce767967ed628c6ad573cb116dbefefd75499da96bd68a8a97b928a8bbc10
#| msg 3b6621fcde2beca1231d206be6cd9ec7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53
#| msg f1d8ac70bdcb7ed185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb2
#| msg d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc24554119a831a9aad6
#| msg 079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f27088d78b7e883c8759d2c4f5c65adb7553
#| msg 878ad575f9fad878e80a0c9ba63bcbcc2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2
#| msg cf65bd92dd597b0707e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128ba
#| msg b27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51addd3b75a2b1ae078
#| msg 4504df543af8969be3ea7082ff7fc9888c144da2af58429ec96031dbcad3dad9af0dcbaaaf268cb8
#| msg fcffead94f3c7ca495e056a9b47acdb751fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301
#| msg 651339e22904cc8c42f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8
#| msg ca61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff7310fdc82aebfd9
#| msg 04b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d78ff4ef5d63653a65040cf9bfd4aca7
#| msg 984a74d37145986780fc0b16ac451649de6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a
#| msg 3ca8e1b939ae49e488acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a3
#| msg 2ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6aed3fb0f9cd71a4
#| msg 3dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb93246f6b1116398a346f1a641f3b041
#| msg e989f7914f90cc2c7fff357876e506b50d334ba77c225bc307ba537152f3f1610e4eafe595f6d9d9
#| msg 0d11faa933a15ef1369546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380d
#| msg b2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0618983f8741c5ef
#| msg 68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d0


def _test_1024():
    key = signature = b""
    pos = 0
    with open(__file__) as f:
        for line in f:
            if line.startswith("#| "):
                name, value = line[3:].split()
                if name == "msg":
                    chunk = bytes.fromhex(value)
                    TEST_1024[pos:pos + len(chunk)] = chunk
                    pos += len(chunk)
                elif name == "key":
                    key += bytes.fromhex(value)
                else:
                    signature += bytes.fromhex(value)
    eq(pos, 1023, "TEST 1024 message read back")
    return key, TEST_1024, signature


def _one_kib():
    # Made on the host: cryptography's Ed25519PrivateKey from the seed bytes(range(0x40,
    # 0x60)) signing bytes((i * 151 + 7) & 255 for i in range(1024)).
    for i in range(1024):
        ONE_KIB[i] = (i * 151 + 7) & 255
    return (bytes.fromhex("2543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d"), ONE_KIB,  # noqa: E501
            bytes.fromhex("38952569936fed39e0036cf4b065cc78470f6775630fb52a255a30cceb240415"
                          "b170eac5faf937237c42fa3f78387e89701831ac0499d1470d18a0b04c8b7d01"))


def test_rfc8032_test_1024_verifies():
    key, message, signature = _test_1024()
    eq(ed25519.verify(key, message, signature), True)


def test_rfc8032_test_1024_altered_message_fails():
    key, message, signature = _test_1024()
    message[511] ^= 0x10
    eq(ed25519.verify(key, message, signature), False)


def test_one_kib_message_verifies():
    key, message, signature = _one_kib()
    eq(ed25519.verify(key, message, signature), True)


def test_one_kib_altered_signature_fails():
    key, message, signature = _one_kib()
    signature = bytearray(signature)
    signature[40] ^= 0x01
    eq(ed25519.verify(key, message, signature), False)
