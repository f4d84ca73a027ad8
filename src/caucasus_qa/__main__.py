from caucasus_qa.cli import main

main()
