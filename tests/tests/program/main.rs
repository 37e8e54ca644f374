//! Native end-to-end tests of the allot program. One test binary (one link) with a module per
//! area; every test starts its own chain.

mod pool;
