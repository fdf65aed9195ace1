/* Test tool for the reader fuzz pass (fuzz_readers.sh): writes stdin to stdout with one seeded
 * mutation, the kinds a damaged or hostile file has. Deterministic: the same seed, the same file.
 *   mutate SEED < in > out */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng;
static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    rng = strtoull(argv[1], NULL, 10) * 0x9E3779B97F4A7C15ull + 1;
    size_t cap = 1 << 20, n = 0;
    char *b = malloc(cap);
    size_t got;
    while (b && (got = fread(b + n, 1, cap - n, stdin)) > 0)
        if ((n += got) == cap && !(b = realloc(b, cap *= 2)))
            return 3;
    if (!b || n == 0)
        return 3;
    size_t at = next() % n;
    /* line starts, for line-level mutations */
    size_t starts[65536], ns = 0;
    for (size_t i = 0; i < n && ns < 65536; i++)
        if (i == 0 || b[i - 1] == '\n')
            starts[ns++] = i;
    size_t l1 = starts[next() % ns], l2 = starts[next() % ns];
    size_t l1end = l1;
    while (l1end < n && b[l1end] != '\n')
        l1end++;
    static const char *const junk[] = {"\"", ",", "\"\"", "nan", "-1", "1e999", "\\", "\x01\x7f", "{", "]", "null",
                                        "18446744073709551616", "0", "", "\"x\",\"y"};
    switch (next() % 9) {
    case 0: /* truncation */
        fwrite(b, 1, at, stdout);
        break;
    case 1: /* bit flip */
        b[at] ^= (char)(1u << (next() % 8));
        fwrite(b, 1, n, stdout);
        break;
    case 2: /* NUL bytes */
        fwrite(b, 1, at, stdout);
        fwrite("\0\0\0", 1, 1 + next() % 3, stdout);
        fwrite(b + at, 1, n - at, stdout);
        break;
    case 3: { /* a huge line */
        fwrite(b, 1, l1, stdout);
        for (int i = 0; i < 200000; i++)
            fputc(i % 97 == 0 ? ',' : 'a' + i % 26, stdout);
        fputc('\n', stdout);
        fwrite(b + l1, 1, n - l1, stdout);
        break;
    }
    case 4: /* a line twice */
        fwrite(b, 1, l2, stdout);
        fwrite(b + l1, 1, l1end - l1, stdout);
        fputc('\n', stdout);
        fwrite(b + l2, 1, n - l2, stdout);
        break;
    case 5: /* a line gone */
        fwrite(b, 1, l1, stdout);
        fwrite(b + l1end, 1, n - l1end, stdout);
        break;
    case 6: { /* a token replaced by junk: the bytes up to the next separator */
        size_t e = at;
        while (e < n && !strchr(",:\n\t ", b[e]))
            e++;
        fwrite(b, 1, at, stdout);
        fputs(junk[next() % (sizeof junk / sizeof *junk)], stdout);
        fwrite(b + e, 1, n - e, stdout);
        break;
    }
    case 7: /* junk inserted */
        fwrite(b, 1, at, stdout);
        fputs(junk[next() % (sizeof junk / sizeof *junk)], stdout);
        fwrite(b + at, 1, n - at, stdout);
        break;
    default: /* every line twice: all keys duplicated */
        fwrite(b, 1, n, stdout);
        fwrite(b + (ns > 1 ? starts[1] : 0), 1, n - (ns > 1 ? starts[1] : 0), stdout);
        break;
    }
    free(b);
    return 0;
}
