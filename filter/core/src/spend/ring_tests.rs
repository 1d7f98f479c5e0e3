use super::*;
use crate::keys::MemStore;
use crate::spend::test_support::Rng;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

fn rec(i: u64) -> SpendRecord {
    SpendRecord {
        request_id: format!("r{i}"),
        spend_micros: i,
        ..SpendRecord::default()
    }
}

fn seqs(store: &dyn KeyStore, capacity: usize) -> Vec<u64> {
    let entries = read_entries(store, capacity);
    for (seq, r) in &entries {
        assert_eq!(
            r.request_id,
            format!("r{seq}"),
            "record stored under its own seq"
        );
    }
    entries.into_iter().map(|(s, _)| s).collect()
}

#[test]
fn appends_in_order_and_wraps() {
    let store = MemStore::default();
    assert!(read_all(&store, 5).is_empty());
    for i in 0..3 {
        assert_eq!(append(&store, &rec(i), 5).unwrap(), Some(i));
    }
    assert_eq!(seqs(&store, 5), vec![0, 1, 2]);
    for i in 3..12 {
        assert_eq!(append(&store, &rec(i), 5).unwrap(), Some(i));
    }
    assert_eq!(seqs(&store, 5), vec![7, 8, 9, 10, 11]);
    // Memory bound: the head and `capacity` slots, nothing else.
    assert_eq!(store.get(HEAD).unwrap().0, b"12");
    for slot in 0..20 {
        assert_eq!(
            store.get(&slot_key(slot)).is_some(),
            slot < 5,
            "slot {slot}"
        );
    }
    let all = read_all(&store, 5);
    assert_eq!(all.first().unwrap().request_id, "r7");
    assert_eq!(all.last().unwrap().request_id, "r11");
}

#[test]
fn zero_capacity_disables_the_log() {
    let store = MemStore::default();
    assert_eq!(append(&store, &rec(0), 0).unwrap(), None);
    assert!(store.get(HEAD).is_none());
    assert!(read_all(&store, 0).is_empty());
}

/// Refuses writes as if another worker had won the race, per key kind.
struct Contended {
    inner: MemStore,
    head_conflicts: Cell<usize>,
    slot_conflicts: Cell<usize>,
    slot_unavailable: Cell<bool>,
}

impl KeyStore for Contended {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.inner.get(key)
    }

    fn set(&self, key: &str, value: &[u8], version: Option<u32>) -> Result<(), StoreError> {
        let counter = if key == HEAD {
            &self.head_conflicts
        } else {
            if self.slot_unavailable.get() {
                return Err(StoreError::Unavailable("down".into()));
            }
            &self.slot_conflicts
        };
        if counter.get() > 0 {
            counter.set(counter.get() - 1);
            return Err(StoreError::Conflict);
        }
        self.inner.set(key, value, version)
    }
}

fn contended() -> Contended {
    Contended {
        inner: MemStore::default(),
        head_conflicts: Cell::new(0),
        slot_conflicts: Cell::new(0),
        slot_unavailable: Cell::new(false),
    }
}

#[test]
fn injected_conflicts_lose_and_duplicate_nothing() {
    let store = contended();
    let mut rng = Rng(7);
    for i in 0..200 {
        store.head_conflicts.set(rng.below(8) as usize);
        store.slot_conflicts.set(rng.below(8) as usize);
        assert_eq!(append(&store, &rec(i), 64).unwrap(), Some(i));
    }
    assert_eq!(seqs(&store, 64), (136..200).collect::<Vec<_>>());
}

#[test]
fn endless_conflicts_and_outages_fail_cleanly() {
    let store = contended();
    store.head_conflicts.set(usize::MAX);
    let e = append(&store, &rec(0), 4).unwrap_err();
    assert_eq!(e.status, 503);
    store.head_conflicts.set(0);
    store.slot_conflicts.set(usize::MAX);
    assert_eq!(append(&store, &rec(0), 4).unwrap_err().status, 503);
    store.slot_conflicts.set(0);
    store.slot_unavailable.set(true);
    assert_eq!(append(&store, &rec(1), 4).unwrap_err().status, 503);
    store.slot_unavailable.set(false);
    // The claimed numbers were used up; the log carries on after them.
    assert_eq!(append(&store, &rec(2), 4).unwrap(), Some(2));
    assert_eq!(seqs(&store, 4), vec![2]);
}

#[test]
fn a_claimed_but_unwritten_successor_evicts_the_old_record() {
    let store = contended();
    for i in 0..3 {
        append(&store, &rec(i), 3).unwrap();
    }
    // Seq 3 is claimed, but its write to slot 0 never lands.
    store.slot_unavailable.set(true);
    assert!(append(&store, &rec(3), 3).is_err());
    // Slot 0 still holds seq 0, which is no longer among the newest three.
    assert_eq!(seqs(&store, 3), vec![1, 2]);
}

#[test]
fn corrupt_head_is_an_error_not_a_reset() {
    let store = MemStore::default();
    store.set(HEAD, b"not a number", None).unwrap();
    assert_eq!(append(&store, &rec(0), 3).unwrap_err().status, 500);
    assert!(read_all(&store, 3).is_empty());
    // Garbage in a slot is skipped.
    store.set(HEAD, b"2", None).unwrap();
    store.set(&slot_key(0), b"{", None).unwrap();
    append(&store, &rec(2), 3).unwrap();
    assert_eq!(seqs(&store, 3), vec![2]);
}

/// Runs a whole rival append between each of our reads and the write that depends on it.
struct Racing<'a> {
    inner: &'a MemStore,
    races: Cell<usize>,
    rival: RefCell<Option<Box<dyn FnMut() + 'a>>>,
    on_slots: bool,
}

impl KeyStore for Racing<'_> {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.inner.get(key)
    }

    fn set(&self, key: &str, value: &[u8], version: Option<u32>) -> Result<(), StoreError> {
        if (key == HEAD) != self.on_slots && self.races.get() > 0 {
            self.races.set(self.races.get() - 1);
            if let Some(rival) = self.rival.borrow_mut().as_mut() {
                rival();
            }
        }
        self.inner.set(key, value, version)
    }
}

#[test]
fn a_rival_claim_between_read_and_write_gets_its_own_number() {
    let shared = MemStore::default();
    let rival_seqs = RefCell::new(Vec::new());
    let next = Cell::new(1000);
    let racing = Racing {
        inner: &shared,
        // The first race is on the absent head: both sides try to create it.
        races: Cell::new(50),
        rival: RefCell::new(Some(Box::new(|| {
            let seq = append(&shared, &rec(next.get()), 1000).unwrap().unwrap();
            next.set(next.get() + 1);
            rival_seqs.borrow_mut().push(seq);
        }))),
        on_slots: false,
    };
    let mut ours = Vec::new();
    for i in 0..50 {
        ours.push(append(&racing, &rec(2000 + i), 1000).unwrap().unwrap());
    }
    let mut all: Vec<u64> = ours
        .iter()
        .chain(rival_seqs.borrow().iter())
        .copied()
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..100).collect::<Vec<_>>(), "unique and gap-free");
    assert_eq!(read_entries(&shared, 1000).len(), 100);
}

#[test]
fn an_older_record_never_overwrites_a_newer_one_in_its_slot() {
    let shared = MemStore::default();
    let racing = Racing {
        inner: &shared,
        races: Cell::new(1),
        // While our seq 0 is about to land in slot 0, a rival fills the ring once
        // round, putting seq 4 in slot 0.
        rival: RefCell::new(Some(Box::new(|| {
            for i in 1..=4 {
                append(&shared, &rec(i), 4).unwrap();
            }
        }))),
        on_slots: true,
    };
    assert_eq!(append(&racing, &rec(0), 4).unwrap(), Some(0));
    assert_eq!(seqs(&shared, 4), vec![1, 2, 3, 4]);
}

/// Values with their versions, and the last version given out.
type Versioned = (HashMap<String, (Vec<u8>, u32)>, u32);

/// A thread-safe store with Envoy's version semantics that refuses some writes.
#[derive(Default)]
struct SharedStore {
    map: Mutex<Versioned>,
    writes: AtomicUsize,
}

impl KeyStore for SharedStore {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        let m = self.map.lock().unwrap();
        m.0.get(key).filter(|(v, _)| !v.is_empty()).cloned()
    }

    fn set(&self, key: &str, value: &[u8], version: Option<u32>) -> Result<(), StoreError> {
        if self.writes.fetch_add(1, Ordering::Relaxed) % 7 == 3 {
            return Err(StoreError::Conflict);
        }
        let mut m = self.map.lock().unwrap();
        m.1 += 1;
        let next = m.1;
        match m.0.get_mut(key) {
            Some(entry) if version.is_some_and(|v| v != entry.1) => Err(StoreError::Conflict),
            Some(entry) => {
                *entry = (value.to_vec(), next);
                Ok(())
            }
            None => {
                m.0.insert(key.to_string(), (value.to_vec(), next));
                Ok(())
            }
        }
    }
}

#[test]
fn threads_appending_concurrently_keep_every_number_once() {
    for capacity in [1000, 100] {
        let store = SharedStore::default();
        let claimed = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let (store, claimed) = (&store, &claimed);
                s.spawn(move || {
                    for i in 0..200 {
                        let store: &dyn KeyStore = store;
                        let r = rec(0);
                        let seq = append(store, &r, capacity).unwrap().unwrap();
                        claimed.lock().unwrap().push((seq, t, i));
                    }
                });
            }
        });
        let mut got: Vec<u64> = claimed.lock().unwrap().iter().map(|c| c.0).collect();
        got.sort_unstable();
        assert_eq!(got, (0..800).collect::<Vec<_>>(), "capacity {capacity}");
        let kept: Vec<u64> = read_entries(&store, capacity)
            .into_iter()
            .map(|e| e.0)
            .collect();
        let low = 800u64.saturating_sub(capacity as u64);
        assert_eq!(kept, (low..800).collect::<Vec<_>>(), "capacity {capacity}");
    }
}

#[test]
fn encoded_slots_read_back_and_their_seq_is_read_from_the_front() {
    let store = MemStore::default();
    for i in 0..3 {
        append(&store, &rec(i), 2).unwrap();
    }
    let (bytes, _) = store.get(&slot_key(0)).unwrap();
    let slot: Slot = serde_json::from_slice(&bytes).unwrap();
    assert_eq!((slot.seq, slot.rec), (2, rec(2)));
    assert_eq!(slot_seq(&bytes), Some(2));
    // Slots written by another encoder (fields in another order) still parse.
    assert_eq!(slot_seq(br#"{"rec":{},"seq":17}"#), Some(17));
    assert_eq!(slot_seq(br#"{"seq":12"#), None);
    assert_eq!(seqs(&store, 2), vec![1, 2]);
}

#[test]
fn a_slot_holding_a_newer_record_is_left_alone() {
    let store = MemStore::default();
    store.set(HEAD, b"3", None).unwrap();
    // Slot 1 of 2 already holds seq 5 (a writer further ahead got there first).
    let newer = br#"{"seq":5,"rec":{"request_id":"r5"}}"#;
    store.set(&slot_key(1), newer, None).unwrap();
    assert_eq!(append(&store, &rec(3), 2).unwrap(), Some(3));
    assert_eq!(store.get(&slot_key(1)).unwrap().0, newer.to_vec());
}
