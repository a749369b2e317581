/*
 * The version of Lens every program reports (lensctl --version, the
 * daemons' -V); the Makefile may override it with -DLENS_VERSION=...
 */
#ifndef LENS_VERSION_H
#define LENS_VERSION_H

#ifndef LENS_VERSION
#define LENS_VERSION	"0.16"
#endif

#endif
