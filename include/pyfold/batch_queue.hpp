#pragma once
// Batches handed from one thread to another in order. At most `in_flight` batches exist: the consumer gives each
// back to be filled again, so their memory is reused and the producer cannot run far ahead. Either side may cancel:
// the other's next take then gives nullptr. A Batch has clear(), called before it is filled again.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

namespace pyfold {

template <typename Batch>
class BatchQueue {
 public:
  explicit BatchQueue(std::size_t in_flight) : in_flight_(in_flight) {}

  // An empty batch to fill (a new one while fewer than in_flight exist), or nullptr once cancelled.
  std::unique_ptr<Batch> take_free() {
    std::unique_lock<std::mutex> lock(mutex_);
    free_ready_.wait(lock, [&] { return cancelled_ || !free_.empty() || made_ < in_flight_; });
    if (cancelled_) return nullptr;
    if (free_.empty()) {
      ++made_;
      return std::make_unique<Batch>();
    }
    auto batch = std::move(free_.front());
    free_.pop_front();
    batch->clear();
    return batch;
  }
  void put_full(std::unique_ptr<Batch> batch) {
    std::lock_guard<std::mutex> lock(mutex_);
    full_.push_back(std::move(batch));
    full_ready_.notify_one();
  }
  // The next full batch, in the order they were put; nullptr once cancelled.
  std::unique_ptr<Batch> take_full() {
    std::unique_lock<std::mutex> lock(mutex_);
    full_ready_.wait(lock, [&] { return cancelled_ || !full_.empty(); });
    if (cancelled_) return nullptr;
    auto batch = std::move(full_.front());
    full_.pop_front();
    return batch;
  }
  void put_free(std::unique_ptr<Batch> batch) {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(std::move(batch));
    free_ready_.notify_one();
  }
  // Frees the batches it holds (once the other thread has stopped).
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.clear();
    full_.clear();
  }
  void cancel() {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_ = true;
    free_ready_.notify_all();
    full_ready_.notify_all();
  }

 private:
  const std::size_t in_flight_;
  std::mutex mutex_;
  std::condition_variable free_ready_, full_ready_;
  std::deque<std::unique_ptr<Batch>> free_, full_;
  std::size_t made_ = 0;
  bool cancelled_ = false;
};

}  // namespace pyfold
