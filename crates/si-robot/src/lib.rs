//! Push-T environment, scripted expert, demonstrations and evaluation (in progress).
