#ifndef C_PROCESS_CONTROL_H
#define C_PROCESS_CONTROL_H

/// Makes the calling process the child subreaper of its descendants (prctl PR_SET_CHILD_SUBREAPER):
/// a daemonized QEMU is then reparented to vireod, which can reap it and learn how it ended.
/// Returns 0, or -1 with errno set. prctl is variadic, so Swift cannot call it directly.
int vireo_become_child_subreaper(void);

#endif
