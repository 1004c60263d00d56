// errno → the text glibc's strerror gives (what `tc` prints after "RTNETLINK answers:"), for
// the codes rtnetlink and the socket calls return. Pure; others read "Unknown error N" as in glibc.
const TEXT: Readonly<Record<number, string>> = {
  1: 'Operation not permitted',
  2: 'No such file or directory',
  4: 'Interrupted system call',
  5: 'Input/output error',
  7: 'Argument list too long',
  9: 'Bad file descriptor',
  11: 'Resource temporarily unavailable',
  12: 'Cannot allocate memory',
  13: 'Permission denied',
  14: 'Bad address',
  16: 'Device or resource busy',
  17: 'File exists',
  19: 'No such device',
  22: 'Invalid argument',
  23: 'Too many open files in system',
  24: 'Too many open files',
  28: 'No space left on device',
  34: 'Numerical result out of range',
  75: 'Value too large for defined data type',
  90: 'Message too long',
  93: 'Protocol not supported',
  95: 'Operation not supported',
  97: 'Address family not supported by protocol',
  105: 'No buffer space available',
  110: 'Connection timed out',
  111: 'Connection refused',
};

export const strerror = (errno: number): string => TEXT[errno] ?? `Unknown error ${errno}`;

export const EAGAIN = 11;
export const EINTR = 4;
export const ENOENT = 2;
export const ENOBUFS = 105;
export const ENODEV = 19;
export const EPROTO = 71;
