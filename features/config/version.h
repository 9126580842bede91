/* Versions that stores record through the configuration hash. */
#ifndef PM_FEATURES_VERSION_H
#define PM_FEATURES_VERSION_H

/* The configuration file format. */
#define PM_CONFIG_FORMAT_VERSION 1

/* The extraction code: bump whenever a change makes any mail give another
 * vector, so that stores built by the old code are refused, not mis-scored. */
#define PM_FEATURES_VERSION 3

#endif
