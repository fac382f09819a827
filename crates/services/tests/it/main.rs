//! Integration tests of the services (filled in below).
