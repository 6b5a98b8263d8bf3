#ifndef CONTROLPLANE_CIDN2_SHIM_H
#define CONTROLPLANE_CIDN2_SHIM_H
// libidn2: IDNA2008 with UTS 46 processing (domain names in email addresses).
#include <idn2.h>
#endif
