//! Asynchronous commits whose results the worker actually sees.
//!
//! rust-rdkafka's `commit(.., CommitMode::Async)` calls `rd_kafka_commit` without a reply queue,
//! and rust-rdkafka sets no `offset_commit_cb`, so librdkafka reports the result to nobody (it
//! only logs failures). `rd_kafka_commit_queue` with a queue of our own makes the result come
//! back as an offset-commit event, which the poll thread serves between polls. Its own queue, not
//! the consumer queue, so that waiting for the last results at shutdown returns no records.

use rdkafka::bindings as rdsys;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::TopicPartitionList;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One committed (or failed) partition offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitResult {
    pub partition: i32,
    pub offset: i64,
    pub error: Option<String>,
}

pub struct CommitQueue {
    queue: *mut rdsys::rd_kafka_queue_t,
    in_flight: AtomicU64,
}

// SAFETY: librdkafka queues are thread-safe; the owner destroys the queue before the client.
unsafe impl Send for CommitQueue {}
unsafe impl Sync for CommitQueue {}

impl CommitQueue {
    /// A queue on `consumer`. Must be dropped before the consumer is.
    pub fn new<C: ConsumerContext>(consumer: &BaseConsumer<C>) -> Option<CommitQueue> {
        // SAFETY: a live client handle.
        let queue = unsafe { rdsys::rd_kafka_queue_new(consumer.client().native_ptr()) };
        (!queue.is_null()).then_some(CommitQueue { queue, in_flight: AtomicU64::new(0) })
    }

    /// Start an asynchronous commit; its result comes from `serve`.
    pub fn commit<C: ConsumerContext>(
        &self,
        consumer: &BaseConsumer<C>,
        offsets: &TopicPartitionList,
    ) -> Result<(), RDKafkaErrorCode> {
        // SAFETY: valid client, list (copied by librdkafka) and queue; with a queue given the call
        // does not block.
        let err = unsafe {
            rdsys::rd_kafka_commit_queue(
                consumer.client().native_ptr(),
                offsets.ptr(),
                self.queue,
                None,
                std::ptr::null_mut(),
            )
        };
        if err == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            Ok(())
        } else {
            Err(err.into())
        }
    }

    /// Commits started and not yet served.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Hand every result that has arrived to `report`, waiting up to `wait` for the first.
    pub fn serve(&self, wait: Duration, mut report: impl FnMut(CommitResult)) {
        let mut timeout_ms = wait.as_millis().min(i32::MAX as u128) as i32;
        loop {
            // SAFETY: our queue; the event is destroyed below.
            let event = unsafe { rdsys::rd_kafka_queue_poll(self.queue, timeout_ms) };
            if event.is_null() {
                return;
            }
            timeout_ms = 0;
            // SAFETY: a live event; its list is owned by the event and read before destroying it.
            unsafe {
                if rdsys::rd_kafka_event_type(event) == rdsys::RD_KAFKA_EVENT_OFFSET_COMMIT {
                    self.in_flight.fetch_sub(1, Ordering::SeqCst);
                    let overall = rdsys::rd_kafka_event_error(event);
                    let list = rdsys::rd_kafka_event_topic_partition_list(event);
                    if !list.is_null() {
                        let elems = std::slice::from_raw_parts((*list).elems, (*list).cnt.max(0) as usize);
                        for elem in elems.iter().filter(|e| e.offset >= 0) {
                            let err = if elem.err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
                                elem.err
                            } else {
                                overall
                            };
                            let error = (err != rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR)
                                .then(|| RDKafkaErrorCode::from(err).to_string());
                            report(CommitResult { partition: elem.partition, offset: elem.offset, error });
                        }
                    }
                }
                rdsys::rd_kafka_event_destroy(event);
            }
        }
    }
}

impl Drop for CommitQueue {
    fn drop(&mut self) {
        // SAFETY: we own the queue, created by rd_kafka_queue_new.
        unsafe { rdsys::rd_kafka_queue_destroy(self.queue) }
    }
}
