#pragma once
// The LZW code stream of Unix `compress` (the ".Z" format without its 3-byte
// header), as the `bible` program's data files store each window of text
// (docs/text.md, "The corpus"). Written from the format's description: codes
// of 9 bits growing to `max_bits`, least significant bit first; codes are read
// in groups of n_bits bytes, and a group is abandoned (its unread bits
// skipped) whenever the code width grows or a CLEAR code (256) resets the
// table; entry 256 is never a string in block mode.
//
// Guarantees (hostile input, docs/security.md): the output never exceeds
// `max_output` bytes (refused as soon as it would); a code beyond the next free
// entry, a first code that is not a literal byte and max_bits outside [9, 16]
// are refused; memory is bounded by 2^16 table entries and the output cap.
// Every refusal is one Error naming `what`.

#include <cstdint>
#include <span>
#include <string>

namespace hdiff::text {

// Largest code width of the format.
inline constexpr int kMaxLzwBits = 16;

// Decodes one block-mode code stream (`max_bits` from the stream's header byte
// & 0x1f) into at most `max_output` bytes.
std::string lzw_decompress(std::span<const uint8_t> codes, int max_bits, size_t max_output, const std::string& what);

}  // namespace hdiff::text
