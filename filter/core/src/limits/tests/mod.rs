//! Tests of admission, settlement, budgets and periods.
