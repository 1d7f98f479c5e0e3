//! Tests of admission, settlement, budgets and periods.

mod admit_tests;
mod budget_tests;
mod concurrency_tests;
mod headers_tests;
mod period_tests;
mod support;
