// Entry point; the command line is built in Cli/.
return 0;
