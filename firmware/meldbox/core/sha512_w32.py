"""SHA-512 compression in @micropython.viper on 32-bit halves, for 32-bit boards (where
sha512.py's viper path on 64-bit words cannot run). Imported by sha512.py on such builds."""
# A 64-bit word is a pair of 32-bit halves, low half first (state, schedule and
# constants all share sha512.py's layout). The code gives the same results whatever the
# machine word (and is tested on the 64-bit unix port as well as on Cortex-M):
# - values read through ptr32 are clean 32-bit; a value is only shifted right or compared
#   when clean, so a left shift may leave bits above 31 (64-bit builds) as long as the
#   value is only combined by & | ^ + and then masked with M or stored through ptr32;
# - a low-half sum is masked with M (all ones on 32 bits, a no-op there) and its carry is
#   uint(sum < addend), which a 64-bit build also computes right once the sum is masked.


@micropython.viper
def compress(st, data, off: int, nblocks: int, wk, kk):
    S = ptr32(st)
    W = ptr32(wk)
    K = ptr32(kk)
    D = ptr8(data)
    M = (uint(0xFFFF) << 16) | uint(0xFFFF)
    while nblocks > 0:
        for t in range(16):
            o = off + 8 * t
            W[2 * t + 1] = (D[o] << 24) | (D[o + 1] << 16) | (D[o + 2] << 8) | D[o + 3]
            W[2 * t] = (D[o + 4] << 24) | (D[o + 5] << 16) | (D[o + 6] << 8) | D[o + 7]
        for t in range(32, 160, 2):
            # W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]
            xl = uint(W[t - 30])
            xh = uint(W[t - 29])
            s0l = (((xl >> 1) | (xh << 31)) ^ ((xl >> 8) | (xh << 24))
                   ^ ((xl >> 7) | (xh << 25))) & M
            s0h = ((xh >> 1) | (xl << 31)) ^ ((xh >> 8) | (xl << 24)) ^ (xh >> 7)
            xl = uint(W[t - 4])
            xh = uint(W[t - 3])
            s1l = (((xl >> 19) | (xh << 13)) ^ ((xh >> 29) | (xl << 3))
                   ^ ((xl >> 6) | (xh << 26))) & M
            s1h = ((xh >> 19) | (xl << 13)) ^ ((xl >> 29) | (xh << 3)) ^ (xh >> 6)
            hi = s0h + s1h + uint(W[t - 13]) + uint(W[t - 31])
            lo = (s0l + s1l) & M
            hi += uint(lo < s1l)
            x = uint(W[t - 14])
            lo = (lo + x) & M
            hi += uint(lo < x)
            x = uint(W[t - 32])
            lo = (lo + x) & M
            W[t] = lo
            W[t + 1] = hi + uint(lo < x)
        al = uint(S[0])
        ah = uint(S[1])
        bl = uint(S[2])
        bh = uint(S[3])
        cl = uint(S[4])
        ch = uint(S[5])
        dl = uint(S[6])
        dh = uint(S[7])
        el = uint(S[8])
        eh = uint(S[9])
        fl = uint(S[10])
        fh = uint(S[11])
        gl = uint(S[12])
        gh = uint(S[13])
        hl = uint(S[14])
        hh = uint(S[15])
        for t in range(0, 160, 2):
            # t1 = h + S1(e) + Ch(e, f, g) + K[t] + W[t]; rotations by 14, 18 and 41
            xl = (((el >> 14) | (eh << 18)) ^ ((el >> 18) | (eh << 14))
                  ^ ((eh >> 9) | (el << 23))) & M
            xh = ((eh >> 14) | (el << 18)) ^ ((eh >> 18) | (el << 14)) ^ ((el >> 9) | (eh << 23))
            yl = gl ^ (el & (fl ^ gl))
            th = hh + xh + (gh ^ (eh & (fh ^ gh))) + uint(K[t + 1]) + uint(W[t + 1])
            tl = (hl + xl) & M
            th += uint(tl < xl)
            tl = (tl + yl) & M
            th += uint(tl < yl)
            x = uint(K[t])
            tl = (tl + x) & M
            th += uint(tl < x)
            x = uint(W[t])
            tl = (tl + x) & M
            th += uint(tl < x)
            hl = gl
            hh = gh
            gl = fl
            gh = fh
            fl = el
            fh = eh
            el = (dl + tl) & M
            eh = (dh + th + uint(el < tl)) & M
            dl = cl
            dh = ch
            cl = bl
            ch = bh
            bl = al
            bh = ah
            # a = t1 + S0(a) + Maj(a, b, c); rotations by 28, 34 and 39
            xl = (((bl >> 28) | (bh << 4)) ^ ((bh >> 2) | (bl << 30))
                  ^ ((bh >> 7) | (bl << 25))) & M
            xh = ((bh >> 28) | (bl << 4)) ^ ((bl >> 2) | (bh << 30)) ^ ((bl >> 7) | (bh << 25))
            yl = (bl & cl) | (dl & (bl | cl))
            th += xh + ((bh & ch) | (dh & (bh | ch)))
            tl = (tl + xl) & M
            th += uint(tl < xl)
            al = (tl + yl) & M
            ah = (th + uint(al < yl)) & M
        # Add the working words into the state.
        x = (uint(S[0]) + al) & M
        S[1] = uint(S[1]) + ah + uint(x < al)
        S[0] = x
        x = (uint(S[2]) + bl) & M
        S[3] = uint(S[3]) + bh + uint(x < bl)
        S[2] = x
        x = (uint(S[4]) + cl) & M
        S[5] = uint(S[5]) + ch + uint(x < cl)
        S[4] = x
        x = (uint(S[6]) + dl) & M
        S[7] = uint(S[7]) + dh + uint(x < dl)
        S[6] = x
        x = (uint(S[8]) + el) & M
        S[9] = uint(S[9]) + eh + uint(x < el)
        S[8] = x
        x = (uint(S[10]) + fl) & M
        S[11] = uint(S[11]) + fh + uint(x < fl)
        S[10] = x
        x = (uint(S[12]) + gl) & M
        S[13] = uint(S[13]) + gh + uint(x < gl)
        S[12] = x
        x = (uint(S[14]) + hl) & M
        S[15] = uint(S[15]) + hh + uint(x < hl)
        S[14] = x
        off += 128
        nblocks -= 1
