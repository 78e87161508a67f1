#pragma once
// IDX files (the MNIST family's format: Fashion-MNIST, MNIST), plain or
// gzip-compressed, and the pairing of an image file with its label file.
//
// Format: two zero bytes, a type byte, the number of dimensions, then each
// dimension as a big-endian 32-bit count, then the elements in C order.
// hdiff reads unsigned bytes (type 0x08), the type of every MNIST-family file.
//
// Guarantees (the hostile-input standard of docs/security.md): the file is
// opened through InputFile (no FIFO, no device); the element count is the
// overflow-checked product of the dimensions and is bounded before anything is
// allocated; the payload must hold exactly that many bytes (no more, no less);
// a gzip stream is decompressed no further than the header says (so a gzip bomb
// costs at most the declared size, itself capped) and must end where the payload
// does. Every refusal is one Error line naming the file and the problem.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace hdiff::image {

// Most payload bytes an IDX file may declare: 256 MiB (Fashion-MNIST's
// training images take 47 MB).
inline constexpr uint64_t kMaxIdxPayloadBytes = uint64_t{1} << 28;
// Most dimensions an IDX file may declare (MNIST-family files have 1 or 3).
inline constexpr int kMaxIdxDims = 8;

// An IDX array of unsigned bytes.
struct IdxArray {
  std::vector<int64_t> dims;  // each at least 0, product = data.size()
  std::vector<uint8_t> data;  // C order
};

// Decodes the bytes of an IDX file, gzip-compressed (detected by its magic
// bytes 1f 8b) or plain; `name` names it in errors. Files declaring more than
// `max_payload` payload bytes are refused before decompression.
IdxArray decode_idx(std::string_view file_bytes, const std::string& name,
                    uint64_t max_payload = kMaxIdxPayloadBytes);

// Reads an IDX file (decode_idx on its content).
IdxArray read_idx(const std::filesystem::path& path, uint64_t max_payload = kMaxIdxPayloadBytes);

// Greyscale images with a class label each.
struct LabelledImages {
  int64_t count = 0;
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint8_t> pixels;  // count × height × width, rows top to bottom
  std::vector<uint8_t> labels;  // count labels in [0, num_classes)
};

// Pairs an image array (count, height, width) with a label array (count,):
// the counts must agree, each side be at least 1 and every label lie in
// [0, num_classes). `images_name` and `labels_name` name the files in errors.
LabelledImages pair_images_labels(IdxArray images, IdxArray labels, const std::string& images_name,
                                  const std::string& labels_name, int num_classes);

// Reads and pairs an image file and its label file.
LabelledImages read_labelled_images(const std::filesystem::path& images, const std::filesystem::path& labels,
                                    int num_classes);

// Where Debian's dataset-fashion-mnist package installs the files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
// Fashion-MNIST's classes, by label.
inline constexpr int kFashionMnistClasses = 10;
const std::vector<std::string>& fashion_mnist_class_names();

// A split of Fashion-MNIST from `dir`: "train" (60 000 images) or "t10k"
// (10 000), each 28×28, read from <split>-images-idx3-ubyte.gz and
// <split>-labels-idx1-ubyte.gz (or the same names without .gz).
LabelledImages read_fashion_mnist(const std::filesystem::path& dir, const std::string& split);

}  // namespace hdiff::image
