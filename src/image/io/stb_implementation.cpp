// stb's image reader and writer, compiled here from Debian's libstb-dev headers
// instead of linked from its libstb.so, for two reasons found by fuzz_image:
// that build keeps assert() on, and a crafted JPEG trips an assertion in the
// Huffman decoder (abort, a crash on hostile input); and compiled here, stb is
// instrumented by the sanitizers and the fuzzer like the rest of the readers.
// Only the PNG and JPEG decoders are built: nothing else is read, so nothing
// else is exposed to hostile files.

#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_NO_STDIO
// The assertions check internal invariants that corrupted input can break; the
// decoder then fails or produces garbage pixels, as in any NDEBUG build of stb.
#define STBI_ASSERT(x) ((void)0)
#define STBIW_ASSERT(x) ((void)0)

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#endif
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
