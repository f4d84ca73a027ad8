from caucasus_qa.faces.cli import main

main()
