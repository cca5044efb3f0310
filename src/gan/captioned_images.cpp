// SPDX-License-Identifier: Apache-2.0
#include <fresco/gan/captioned_images.hpp>

#include <algorithm>

#include <fresco/data/dataset.hpp>
#include <fresco/error.hpp>

namespace fresco::gan {

void CaptionedImages::validate() const {
  FRESCO_CHECK(images.defined(), "CaptionedImages: the images are undefined");
  FRESCO_CHECK_SHAPE(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3) &&
                         images.size(2) == images.size(3),
                     "CaptionedImages: expected images [N, 1 or 3, S, S], got {}", shape_str(images.shape()));
  FRESCO_CHECK(images.size(0) >= 2, "CaptionedImages: need at least 2 images, got {}", images.size(0));
  FRESCO_CHECK(static_cast<int64_t>(captions.size()) == images.size(0),
               "CaptionedImages: {} images but {} captions", images.size(0), captions.size());
  FRESCO_CHECK(labels.empty() || static_cast<int64_t>(labels.size()) == images.size(0),
               "CaptionedImages: {} images but {} rows of labels (expected none or one per image)", images.size(0),
               labels.size());
}

CaptionedImages CaptionedImages::from_dataset(const data::Dataset& dataset, int64_t limit) {
  const int64_t n = limit > 0 ? std::min(limit, dataset.size()) : dataset.size();
  FRESCO_CHECK(n >= 2, "CaptionedImages::from_dataset: the dataset has {} samples, need at least 2", n);
  data::Example first = dataset.get(0);
  const Shape s = first.image.shape();
  FRESCO_CHECK_SHAPE(s.size() == 3, "CaptionedImages::from_dataset: expected images [C, H, W], got {}",
                     shape_str(s));
  const int64_t per = s[0] * s[1] * s[2];
  CaptionedImages out;
  out.images = empty({n, s[0], s[1], s[2]});
  out.captions.reserve(static_cast<size_t>(n));
  out.labels.reserve(static_cast<size_t>(n));
  bool any_labels = false;
  float* dst = out.images.data();
  for (int64_t i = 0; i < n; ++i) {
    data::Example e = i == 0 ? first : dataset.get(i);
    FRESCO_CHECK_SHAPE(e.image.shape() == s, "CaptionedImages::from_dataset: sample {} has shape {}, sample 0 {}", i,
                       shape_str(e.image.shape()), shape_str(s));
    const Tensor img = e.image.contiguous();
    const float* src = img.data();
    for (int64_t j = 0; j < per; ++j) dst[i * per + j] = 2.f * src[j] - 1.f;
    out.captions.push_back(std::move(e.caption));
    any_labels = any_labels || !e.labels.empty();
    out.labels.push_back(std::move(e.labels));
  }
  if (!any_labels) out.labels.clear();
  out.validate();
  return out;
}

}  // namespace fresco::gan
