//! Backpressure between the request path and the store: a bounded queue
//! drained in batches by a background writer (group commit).
//!
//! A request thread submits a body and gets a [`Ticket`]; the writer takes
//! up to `max_batch` queued bodies at a time, appends each tenant's share in
//! one store transaction ([`AuditLog::append_batch`]) and completes the
//! tickets only after the store acknowledged — so an acknowledged entry is
//! durable (as durable as the store). When the queue is full the caller gets
//! [`PipelineError::Full`] at once, or waits up to a timeout, as configured:
//! nothing is ever dropped silently. Shutdown drains the queue, then seals.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::body::Body;
use crate::entry::Entry;
use crate::id::{EntryId, TenantId};
use crate::log::{AuditLog, LogError};

/// What [`Pipeline::submit`] does when the queue is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WhenFull {
    /// Return [`PipelineError::Full`] immediately.
    Fail,
    /// Wait up to this long for room, then return [`PipelineError::Full`].
    Block(Duration),
}

/// Settings of a [`Pipeline`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PipelineConfig {
    /// Queue capacity (bodies waiting for the writer).
    pub capacity: usize,
    /// Most bodies the writer appends per store transaction.
    pub max_batch: usize,
    /// Behaviour when the queue is full.
    pub when_full: WhenFull,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            capacity: 4096,
            max_batch: 512,
            when_full: WhenFull::Block(Duration::from_secs(5)),
        }
    }
}

/// Errors of the pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The queue is full (and stayed full for the configured wait).
    #[error("the audit queue is full ({capacity} waiting); the entry was not accepted")]
    Full {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The pipeline is shut down.
    #[error("the audit pipeline is shut down; the entry was not accepted")]
    Closed,
    /// The writer could not append the batch holding this entry.
    #[error("the entry could not be stored: {0}")]
    Append(String),
    /// Waiting for the acknowledgement timed out (the entry may still be
    /// stored later; wait again or check the store).
    #[error("no acknowledgement within the timeout")]
    Timeout,
}

struct Job {
    tenant: TenantId,
    /// Chosen by the submitter, or drawn by the writer.
    id: Option<EntryId>,
    body: Body,
    ack: mpsc::SyncSender<Result<Entry, String>>,
}

/// A submitted entry's acknowledgement.
#[derive(Debug)]
pub struct Ticket {
    rx: mpsc::Receiver<Result<Entry, String>>,
}

impl Ticket {
    /// Waits until the entry is stored and returns it.
    ///
    /// # Errors
    /// [`PipelineError::Append`] when storing failed, [`PipelineError::Timeout`],
    /// [`PipelineError::Closed`] if the writer died.
    pub fn wait(self, timeout: Duration) -> Result<Entry, PipelineError> {
        match self.rx.recv_timeout(timeout) {
            Ok(Ok(e)) => Ok(e),
            Ok(Err(msg)) => Err(PipelineError::Append(msg)),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(PipelineError::Timeout),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(PipelineError::Closed),
        }
    }
}

/// A bounded queue in front of an [`AuditLog`], drained by one writer thread.
pub struct Pipeline {
    tx: Option<mpsc::SyncSender<Job>>,
    writer: Option<JoinHandle<()>>,
    log: AuditLog,
    config: PipelineConfig,
}

impl Pipeline {
    /// Starts the writer thread.
    pub fn start(log: AuditLog, config: PipelineConfig) -> Pipeline {
        let (tx, rx) = mpsc::sync_channel::<Job>(config.capacity.max(1));
        let writer_log = log.clone();
        let max_batch = config.max_batch.max(1);
        let writer = std::thread::spawn(move || write_loop(&writer_log, &rx, max_batch));
        Pipeline {
            tx: Some(tx),
            writer: Some(writer),
            log,
            config,
        }
    }

    /// Queues `body` for `tenant`.
    ///
    /// # Errors
    /// [`PipelineError::Full`] per [`WhenFull`]; [`PipelineError::Closed`].
    pub fn submit(&self, tenant: &TenantId, body: Body) -> Result<Ticket, PipelineError> {
        self.submit_job(tenant, None, body)
    }

    /// Queues `body` for `tenant` under a chosen entry id — needed for a
    /// decision with sealed fields, which bind their entry's id
    /// ([`crate::DecisionDraft::entry_id`]).
    ///
    /// # Errors
    /// As [`Pipeline::submit`].
    pub fn submit_with_id(
        &self,
        tenant: &TenantId,
        id: EntryId,
        body: Body,
    ) -> Result<Ticket, PipelineError> {
        self.submit_job(tenant, Some(id), body)
    }

    fn submit_job(
        &self,
        tenant: &TenantId,
        id: Option<EntryId>,
        body: Body,
    ) -> Result<Ticket, PipelineError> {
        if id.is_none() {
            if let Body::Decision(d) = &body {
                if !d.sealed.is_empty() {
                    return Err(PipelineError::Append(
                        "a decision with sealed fields must be submitted under the entry id its \
                         fields were sealed for (submit_with_id)"
                            .into(),
                    ));
                }
            }
        }
        let tx = self.tx.as_ref().ok_or(PipelineError::Closed)?;
        let (ack, rx) = mpsc::sync_channel(1);
        let mut job = Job {
            tenant: tenant.clone(),
            id,
            body,
            ack,
        };
        let deadline = match self.config.when_full {
            WhenFull::Fail => None,
            WhenFull::Block(d) => Some(Instant::now() + d),
        };
        loop {
            match tx.try_send(job) {
                Ok(()) => return Ok(Ticket { rx }),
                Err(mpsc::TrySendError::Disconnected(_)) => return Err(PipelineError::Closed),
                Err(mpsc::TrySendError::Full(j)) => {
                    job = j;
                    match deadline {
                        Some(d) if Instant::now() < d => {
                            std::thread::sleep(Duration::from_micros(200))
                        }
                        _ => {
                            return Err(PipelineError::Full {
                                capacity: self.config.capacity,
                            })
                        }
                    }
                }
            }
        }
    }

    /// Queues `body` and waits until it is stored.
    ///
    /// # Errors
    /// As [`Pipeline::submit`] and [`Ticket::wait`].
    pub fn append(
        &self,
        tenant: &TenantId,
        body: Body,
        timeout: Duration,
    ) -> Result<Entry, PipelineError> {
        self.submit(tenant, body)?.wait(timeout)
    }

    /// Stops accepting entries, drains the queue, then seals every tenant.
    ///
    /// # Errors
    /// [`LogError`] from the final seal.
    pub fn shutdown(mut self) -> Result<(), LogError> {
        self.stop();
        self.log.seal_all().map(|_| ())
    }

    fn stop(&mut self) {
        self.tx = None; // the writer drains what is queued, then ends
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if self.writer.is_some() {
            self.stop();
            let _ = self.log.seal_all();
        }
    }
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pipeline({:?}, {:?})", self.log, self.config)
    }
}

fn write_loop(log: &AuditLog, rx: &mpsc::Receiver<Job>, max_batch: usize) {
    // Blocks for the first job; ends when every sender is gone and the queue is empty.
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        // Group by tenant, keeping submission order within each tenant.
        let mut by_tenant: BTreeMap<TenantId, Vec<Job>> = BTreeMap::new();
        for j in batch {
            by_tenant.entry(j.tenant.clone()).or_default().push(j);
        }
        for (tenant, jobs) in by_tenant {
            let items: Vec<(EntryId, &Body)> = jobs
                .iter()
                .map(|j| (j.id.unwrap_or_else(|| log.new_entry_id()), &j.body))
                .collect();
            match log.append_batch_with_ids(&tenant, &items) {
                Ok(entries) => {
                    for (j, e) in jobs.into_iter().zip(entries) {
                        let _ = j.ack.try_send(Ok(e));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    for j in jobs {
                        let _ = j.ack.try_send(Err(msg.clone()));
                    }
                }
            }
        }
    }
}
