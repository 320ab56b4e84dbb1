"""The scan pipeline: profile -> sweep plan -> power pass and dwells on a live
source -> observations to a `ScanSink` (`fbsdetect scan`, issue 9)."""
